"""Celery entry points of surveys: ids in, one service call each. Schedules live in the database."""
from __future__ import annotations

from celery import shared_task

from accounts.models import Account
from accounts.scoping import account_task


@shared_task(name="surveys.dispatch")
def dispatch() -> int:
    """Beat, every minute: expire leases, run autopilots, resume imports, hand due invitations out."""
    from surveys.services import run_dispatch_cycle

    return run_dispatch_cycle()


@shared_task(name="surveys.send_invitations", acks_late=True)
@account_task
def send_invitations(account_id: int, invitation_ids: list[int], attempt_id: str | None = None) -> dict[str, int]:
    """Send one batch under the dispatcher's hand-out (``attempt_id``; a task queued by an older
    version has none and claims its rows first); a duplicate delivery sends nothing twice."""
    from surveys import services

    return services.send_invitations(account=Account.objects.get(pk=account_id), invitation_ids=invitation_ids,
                                     attempt_id=attempt_id)


@shared_task(name="surveys.run_person_import", acks_late=True)
@account_task
def run_person_import(account_id: int, import_id: int) -> None:
    """Import one CSV (claimed by a lease, so a second delivery does nothing)."""
    from surveys import services

    services.run_person_import(account=Account.objects.get(pk=account_id), import_id=import_id)
