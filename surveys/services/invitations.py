"""Scheduling invitations. Sending lives in the dispatcher (database schedule, no Celery ETA)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import Channel, Invitation, Person, Survey


def schedule_invitation(*, survey: Survey, person: Person, scheduled_at: datetime | None = None,
                        channel: str = Channel.EMAIL, properties: dict[str, Any] | None = None,
                        dedupe_key: str = "") -> Invitation:
    """Schedule one send of a survey to a person. With a dedupe key, scheduling twice is a no-op."""
    if survey.account_id != person.account_id:
        raise ValidationError({"person": _("Unknown person.")})
    if survey.status != Survey.Status.ACTIVE:
        raise ValidationError({"survey": _("This survey is paused or archived.")})
    if channel == Channel.EMAIL and not person.email:
        raise ValidationError({"email": _("This person has no email address.")})
    if channel == Channel.SMS and not person.phone_number:
        raise ValidationError({"phone_number": _("This person has no phone number.")})
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
