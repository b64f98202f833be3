"""Celery entry points of integrations: fan-out, one delivery, and the minute sweeper."""
from __future__ import annotations

import time

from celery import shared_task

from accounts.scoping import account_task
from accounts.tasks_util import enqueue_on_commit
from integrations import services

# How long the fan-out task may spend sending healthy webhooks itself before handing the rest
# to separate tasks (one task per delivery costs more than the delivery on loopback).
INLINE_BUDGET_SECONDS = 2.0


@shared_task(name="integrations.fan_out_event", acks_late=True)
@account_task
def fan_out_event(account_id: int, event_id: int) -> int:
    """Turn one event into Delivery rows and send or enqueue the due ones (``accounts.events`` calls this)."""
    due = services.fan_out_event(event_id=event_id)
    started = time.monotonic()
    for delivery_id, inline in due:
        if inline and time.monotonic() - started < INLINE_BUDGET_SECONDS:
            services.deliver(delivery_id=delivery_id)
        else:
            enqueue_on_commit(deliver, account_id, delivery_id)
    return len(due)


@shared_task(name="integrations.deliver", acks_late=True)
@account_task
def deliver(account_id: int, delivery_id: int) -> str:
    """Send one due delivery; duplicates find nothing to claim."""
    return services.deliver(delivery_id=delivery_id)


@shared_task(name="integrations.sweep")
def sweep() -> dict[str, int]:
    """Every minute: republish lost events, release expired leases, enqueue due retries."""
    return services.sweep()
