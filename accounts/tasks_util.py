"""Enqueue Celery tasks after commit, robustly: a broker outage never fails the request (F4)."""
from __future__ import annotations

import functools
import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger("verbatim")


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Publish ``task.delay(*args)`` once the current transaction commits; never raise.

    If the broker is down the outbox row stays pending and a sweeper republishes it later.
    """

    def publish() -> None:
        try:
            task.delay(*args, **kwargs)
        except Exception:  # broker down: the database row is the source of truth
            logger.warning("could not publish %s%r; the sweeper will retry", task.name, args, exc_info=True)

    transaction.on_commit(functools.partial(publish), robust=True)
