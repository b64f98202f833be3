"""The lowest layer of the event outbox: the ``Event`` row and ``emit_event()``.

Any app emits in its own transaction without importing ``integrations``; after commit the fan-out
task named ``integrations.fan_out_event`` (when that app registers it) delivers the event. If the
broker is down the row stays ``pending`` and the integrations sweeper picks it up.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from accounts import sql
from accounts.scoping import TenantManager

if TYPE_CHECKING:
    from accounts.models import Account

logger = logging.getLogger("verbatim")

FAN_OUT_TASK = "integrations.fan_out_event"


class Event(models.Model):
    """A domain event (``response.created``...), written in the transaction of the change."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        app_label = "accounts"
        indexes = [
            models.Index(fields=["account", "kind", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


def _publish(event_id: int, account_id: int) -> None:
    from celery import current_app

    task = current_app.tasks.get(FAN_OUT_TASK)
    if task is None:  # integrations not wired yet: the row is simply stored
        return
    try:
        task.delay(account_id, event_id)
    except Exception:  # broker down: the sweeper republishes pending events
        logger.warning("could not publish event %s; the sweeper will retry", event_id, exc_info=True)


def emit_event(account: Account, kind: str, payload: dict[str, Any]) -> Event:
    """Write an Event row in the caller's transaction; fan it out after commit."""
    event = Event(account=account, kind=kind, payload=payload)
    sql.save_new([event])  # a raw INSERT: the outbox write is on the respondent's hot path
    publish_on_commit(account.pk, event.pk)
    return event


def publish_on_commit(account_id: int, event_id: int) -> None:
    """Fan out an Event row written by hand-made SQL (``emit_event`` does this itself) after commit."""
    transaction.on_commit(lambda: _publish(event_id, account_id), robust=True)
