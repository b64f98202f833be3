"""Celery entry points of reports: the monthly stakeholder report."""
from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from accounts.scoping import account_task
from reports import services


@shared_task(acks_late=True)
def queue_due_monthly_reports() -> int:
    """Beat, every 15 minutes: enqueue the month's report of accounts whose first working day has come."""
    return len(services.queue_due_monthly_reports())


@shared_task(acks_late=True, autoretry_for=(SMTPException, ConnectionError), retry_backoff=True, max_retries=8)
@account_task
def send_monthly_report(account_id: int, report_id: int) -> int:
    """Send one claimed monthly report; a duplicate delivery finds nothing to claim."""
    return services.send_monthly_report(report_id=report_id)
