"""Celery entry points of the Delighted-compatible layer."""
from celery import shared_task

from integrations.delighted import services


@shared_task(name="delighted.schedule_autopilot_sends", acks_late=True)
def schedule_autopilot_sends() -> int:
    """Beat, every minute: the next recurring survey of each autopilot member that is due (rows, no ETAs)."""
    return services.schedule_due_autopilot_sends()
