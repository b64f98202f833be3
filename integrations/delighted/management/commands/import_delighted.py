"""``manage.py import_delighted --account acme responses export.csv [--survey 3]`` (or ``people``)."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from accounts.scoping import account_scope
from integrations.delighted import imports


class Command(BaseCommand):
    help = "Import a Delighted CSV export (responses or people) into an account; safe to run twice."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=["responses", "people"])
        parser.add_argument("path")
        parser.add_argument("--account", required=True, help="the account's slug")
        parser.add_argument("--survey", type=int, help="survey id for responses (default: the default survey)")

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account {options['account']!r}.")
        with account_scope(account), open(options["path"], "rb") as file:
            try:
                if options["kind"] == "people":
                    result = imports.import_people(account=account, file=file)
                else:
                    surveys = account.surveys.all()
                    survey = (surveys.filter(pk=options["survey"]) if options["survey"]
                              else surveys.filter(is_default=True)).first()
                    if survey is None:
                        raise CommandError("No such survey in this account.")
                    result = imports.import_responses(account=account, survey=survey, file=file)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(json.dumps(result.as_dict()))
