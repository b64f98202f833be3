"""Celery entry points of responses: ids in, one service call each."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import account_task, cross_account


@shared_task(name="responses.sweep_overdue_cases")
def sweep_overdue_cases() -> int:
    """Beat, every minute: hand each account with an overdue, not fully escalated case to its own task."""
    from responses.models import Case

    with cross_account():  # the sweeper looks for work in every account; each task then runs in one scope
        account_ids = list(Case.objects.filter(status=Case.Status.OPEN, holdout=False, escalation_level__lt=2,
                                               due_at__lte=timezone.now())
                           .values_list("account_id", flat=True).distinct())
    for account_id in account_ids:
        escalate_overdue_cases.delay(account_id)
    return len(account_ids)


@shared_task(name="responses.escalate_overdue_cases", acks_late=True)
@account_task
def escalate_overdue_cases(account_id: int) -> int:
    """Alert assignees, then admins, of one account's overdue cases (claimed level by level)."""
    from responses import cases

    return cases.escalate_overdue_cases(account=Account.objects.get(pk=account_id))
