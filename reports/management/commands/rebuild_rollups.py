"""rebuild_rollups: recompute the daily and segment rollups of one account (or all) from raw responses."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from accounts.scoping import account_scope
from responses.rollups import rebuild_rollups


class Command(BaseCommand):
    help = "Recompute DailyRollup and SegmentRollup rows from raw responses (per account, in the account's time zone)."

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--account", help="Slug of the account to rebuild.")
        group.add_argument("--all", action="store_true", help="Rebuild every account, one at a time.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            accounts = list(Account.objects.order_by("pk"))
        else:
            accounts = list(Account.objects.filter(slug=options["account"]))
            if not accounts:
                raise CommandError(f"No account with slug {options['account']!r}.")
        for account in accounts:
            with account_scope(account):
                rows = rebuild_rollups(account=account)
            self.stdout.write(f"{account.slug}: {rows} daily rollup rows (segment rollups rebuilt too)")
