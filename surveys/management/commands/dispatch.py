"""``manage.py dispatch``: the dispatcher loop in the foreground (no Redis needed); ``--once``: one cycle."""
from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from surveys.services import run_dispatch_cycle

logger = logging.getLogger("verbatim")


class Command(BaseCommand):
    help = "Send due survey invitations: loop in the foreground, or one cycle with --once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one cycle and exit.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between cycles (default 5).")

    def handle(self, *args, once: bool = False, interval: float = 5.0, **options) -> None:
        while True:
            if once:
                handed = run_dispatch_cycle(inline=True)
                self.stdout.write(f"dispatched {handed} invitation(s)")
                return
            try:
                run_dispatch_cycle(inline=True)
            except Exception:  # a database or mail hiccup must not stop the loop; the next cycle retries
                logger.exception("dispatch cycle failed; retrying in %s s", interval)
                close_old_connections()
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
