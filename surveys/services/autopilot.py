"""Autopilot: a recurring schedule per survey. Each run schedules the survey for every matching person
who has not had it in the last N days; people added later enter at the next run. The throttle
still applies at send time."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.jsonq import has_properties
from accounts.scoping import account_scope, cross_account
from surveys.models import Autopilot, Channel, Invitation, Survey

RUN_EVERY = timedelta(hours=1)


def set_autopilot(*, survey: Survey, enabled: bool, every_days: int,
                  property_filter: dict[str, Any] | None = None) -> Autopilot:
    """Create or change a survey's autopilot."""
    if not 1 <= int(every_days) <= 3650:
        raise ValidationError({"every_days": _("Choose between 1 and 3650 days.")})
    if property_filter is not None and not isinstance(property_filter, dict):
        raise ValidationError({"property_filter": _("Use an object of property names and values.")})
    autopilot, _created = Autopilot.objects.update_or_create(
        survey=survey, account_id=survey.account_id,
        defaults={"enabled": enabled, "every_days": int(every_days), "property_filter": property_filter or {},
                  "next_run_at": timezone.now()})
    return autopilot


def segment(account, property_filter: dict[str, Any] | None):
    """People of an account with an email whose properties contain every key/value of the filter."""
    people = account.people.filter(email__isnull=False)
    if property_filter:
        people = people.filter(has_properties("properties", {
            k: str(v) if not isinstance(v, (bool, int)) else v for k, v in property_filter.items()}))
    return people


def run_autopilot(*, autopilot: Autopilot) -> int:
    """Schedule the survey for every matching person with no invitation of it in the last N days."""
    survey = autopilot.survey
    now = timezone.now()
    if not autopilot.enabled or survey.status != Survey.Status.ACTIVE:
        return 0
    recent = survey.invitations.filter(scheduled_at__gt=now - timedelta(days=autopilot.every_days)).exclude(
        status=Invitation.Status.CANCELLED).values("person_id")
    ids = list(segment(survey.account, autopilot.property_filter).exclude(pk__in=recent)
               .values_list("pk", flat=True))
    with transaction.atomic():
        Invitation.objects.bulk_create(
            [Invitation(account_id=survey.account_id, survey=survey, person_id=pid, channel=Channel.EMAIL,
                        scheduled_at=now, dedupe_key="") for pid in ids], batch_size=1000)
        Autopilot.objects.filter(pk=autopilot.pk).update(last_run_at=now)
    return len(ids)


def run_due_autopilots() -> int:
    """Run every autopilot whose time has come (called by the dispatcher cycle)."""
    now = timezone.now()
    with cross_account():  # the scheduler serves every account; each run is scoped below
        due = list(Autopilot.objects.filter(enabled=True, next_run_at__lte=now).select_related("survey__account"))
    total = 0
    for autopilot in due:
        with account_scope(autopilot.account_id):
            # claim this run: two dispatchers at once schedule it once
            if Autopilot.objects.filter(pk=autopilot.pk, next_run_at__lte=now).update(next_run_at=now + RUN_EVERY):
                total += run_autopilot(autopilot=autopilot)
    return total
