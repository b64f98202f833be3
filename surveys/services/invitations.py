"""Scheduling invitations. Sending lives in the dispatcher (database schedule, no Celery ETA)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from surveys.models import Channel, Invitation, Person, Survey
from surveys.services.emails import check_placeholders

MAX_RECIPIENTS_PER_REQUEST = 100_000


def schedule_invitation(*, survey: Survey, person: Person, scheduled_at: datetime | None = None,
                        channel: str = Channel.EMAIL, properties: dict[str, Any] | None = None,
                        dedupe_key: str = "") -> Invitation:
    """Schedule one send of a survey to a person. With a dedupe key, scheduling twice is a no-op.

    A ``{{placeholder}}`` that neither the person, the properties nor the survey's fallbacks fill
    is refused here, naming it.
    """
    if survey.account_id != person.account_id:
        raise ValidationError({"person": _("Unknown person.")})
    if survey.status != Survey.Status.ACTIVE:
        raise ValidationError({"survey": _("This survey is paused or archived.")})
    if channel == Channel.EMAIL and not person.email:
        raise ValidationError({"email": _("This person has no email address.")})
    if channel == Channel.SMS and not person.phone_number:
        raise ValidationError({"phone_number": _("This person has no phone number.")})
    check_placeholders(survey=survey, person=person, properties=properties)
    fields = {"account_id": survey.account_id, "survey": survey, "person": person, "channel": channel,
              "properties": properties or {}, "scheduled_at": scheduled_at or timezone.now(),
              "dedupe_key": dedupe_key}
    if not dedupe_key:
        return Invitation.objects.create(**fields)
    try:
        with transaction.atomic():
            return Invitation.objects.create(**fields)
    except IntegrityError:
        return survey.invitations.get(person=person, dedupe_key=dedupe_key)


@transaction.atomic
def send_survey_to(*, survey: Survey, people, scheduled_at: datetime | None = None,
                   dedupe_key: str = "") -> int:
    """Schedule the survey for many people at once ("send now" / "send with delay"); returns the count.

    People without an email are left out. Placeholders are checked against the survey's fallbacks
    for people who lack the property (a missing value is an error naming it, nothing written).
    """
    if survey.status != Survey.Status.ACTIVE:
        raise ValidationError({"survey": _("This survey is paused or archived.")})
    people = people.filter(account_id=survey.account_id, email__isnull=False)
    count = people.count()
    if count > MAX_RECIPIENTS_PER_REQUEST:
        raise ValidationError({"people": _("At most %(n)d people at once.") % {"n": MAX_RECIPIENTS_PER_REQUEST}})
    from surveys.services.quotas import check_recipient_cap

    check_recipient_cap(survey.account, count, field="people")  # the account's own cap (EM-28)
    when = scheduled_at or timezone.now()
    rows, batch = 0, []
    for person in people.only("pk", "email", "name", "properties", "account_id").iterator(chunk_size=2000):
        check_placeholders(survey=survey, person=person, properties=None)
        batch.append(Invitation(account_id=survey.account_id, survey=survey, person=person, channel=Channel.EMAIL,
                                scheduled_at=when, dedupe_key=dedupe_key))
        if len(batch) >= 2000:
            rows += len(Invitation.objects.bulk_create(batch, ignore_conflicts=bool(dedupe_key)))
            batch = []
    rows += len(Invitation.objects.bulk_create(batch, ignore_conflicts=bool(dedupe_key)))
    return rows


def cancel_invitation(*, invitation: Invitation) -> bool:
    """Cancel one scheduled invitation; False when it already left (or was cancelled)."""
    return Invitation.objects.filter(pk=invitation.pk, account_id=invitation.account_id,
                                     status=Invitation.Status.SCHEDULED).update(
        status=Invitation.Status.CANCELLED, failure_reason="cancelled by an admin") == 1


def invitation_counts(*, account: Account, survey: Survey | None = None) -> dict[str, int]:
    from django.db.models import Count

    rows = account.invitations.all()
    if survey is not None:
        rows = rows.filter(survey=survey)
    return dict(rows.values_list("status").annotate(n=Count("pk")).order_by())


def resend_invitation(*, invitation: Invitation) -> bool:
    """An admin sends an ``unknown`` or ``failed`` invitation again (never automatic: it may have arrived)."""
    return Invitation.objects.filter(
        pk=invitation.pk, account_id=invitation.account_id,
        status__in=(Invitation.Status.UNKNOWN, Invitation.Status.FAILED)).update(
        status=Invitation.Status.SCHEDULED, scheduled_at=timezone.now(), lease_until=None,
        failure_reason="resent by an admin") == 1
