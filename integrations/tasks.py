"""Celery entry points of integrations: fan-out, one delivery, and the minute sweeper."""
from __future__ import annotations

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
    """Turn one event into Delivery rows, send the healthy webhooks itself, enqueue the rest (``accounts.events``)."""
    out = services.fan_out_event(event_id=event_id)
    left = services.send_claimed(deliveries=out.claimed, budget=INLINE_BUDGET_SECONDS)
    for delivery_id in [*out.queued, *left]:
        enqueue_on_commit(deliver, account_id, delivery_id)
    if out.again:  # older events went first; this one's turn is next
        enqueue_on_commit(fan_out_event, account_id, event_id)
    return len(out.claimed) + len(out.queued)


@shared_task(name="integrations.deliver", acks_late=True)
@account_task
def deliver(account_id: int, delivery_id: int) -> str:
    """Send one due delivery; duplicates find nothing to claim."""
    return services.deliver(delivery_id=delivery_id)


@shared_task(name="integrations.sweep")
def sweep() -> dict[str, int]:
    """Every minute: republish lost events, release expired leases, enqueue due retries."""
    return services.sweep()
