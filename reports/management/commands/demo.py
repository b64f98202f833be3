"""demo: create the demo account with data (idempotent)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from reports.demo import DEMO_EMAIL, DEMO_PASSWORD, VIEWER_EMAIL, load_demo


class Command(BaseCommand):
    help = ("Create a demo account (surveys, a few hundred people, a year of responses in several "
            "languages, channels and agents). Running it again changes nothing.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--people", type=int, default=300, help="How many people (default 300).")
        parser.add_argument("--days", type=int, default=365, help="Days of responses (default 365).")

    def handle(self, *args: Any, **options: Any) -> None:
        account, created = load_demo(people=options["people"], days=options["days"])
        self.stdout.write("Demo account created." if created else "Demo account already there.")
        self.stdout.write(f"Open {settings.SITE_URL}{reverse('accounts:login')}")
        self.stdout.write(f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD} (viewer: {VIEWER_EMAIL} / {DEMO_PASSWORD})")
        self.stdout.write(f"Dashboard: {settings.SITE_URL}{account.get_absolute_url()}")
