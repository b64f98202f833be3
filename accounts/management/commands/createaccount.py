"""createaccount --name NAME --owner-email EMAIL [--password PW]: an account, its owner and an API key."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts import services
from accounts.scoping import account_scope


class Command(BaseCommand):
    help = ("Create an account with its owner (and default NPS survey); print the log-in URL and a "
            "line 'API key: <key>'.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="The company / account name.")
        parser.add_argument("--owner-email", required=True, help="The owner's email (also the user name).")
        parser.add_argument("--password", help="The owner's password (unusable if omitted; reset by email).")
        parser.add_argument("--time-zone", default="UTC", help="IANA time zone, e.g. Europe/Helsinki.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                user = services.get_or_create_user(email=options["owner_email"], password=options["password"])
                if options["password"] and not user.check_password(options["password"]):
                    user.set_password(options["password"])
                    user.save(update_fields=["password"])
                account = services.create_account(name=options["name"], owner=user,
                                                  time_zone=options["time_zone"])
                with account_scope(account):
                    _key, raw = services.create_api_key(account=account, name="createaccount", by=user)
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
        self.stdout.write(f"Account: {account.name} ({account.slug})")
        self.stdout.write(f"Log in at: {settings.SITE_URL}{reverse('accounts:login')} as {user.get_username()}")
        self.stdout.write(f"Dashboard: {settings.SITE_URL}{account.get_absolute_url()}")
        self.stdout.write(f"API key: {raw}")
