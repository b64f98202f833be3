"""Every write of responses: recording scores, comments and answers."""
from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.events import emit_event
from responses import rollups
from responses.models import Response
from surveys.models import Channel, Invitation, Person, Survey


def validate_score(survey: Survey, score: Any) -> int:
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": _("The score must be a whole number.")}) from None
    if str(score).strip() not in (str(value), f"{value}.0") or not survey.scale_min <= value <= survey.scale_max:
        raise ValidationError({"score": _("The score must be between %(min)d and %(max)d.")
                               % {"min": survey.scale_min, "max": survey.scale_max}})
    return value


@transaction.atomic
def record_response(*, survey: Survey, score: Any, invitation: Invitation | None = None,
                    person: Person | None = None, comment: str | None = None, channel: str = Channel.EMAIL,
                    properties: dict[str, Any] | None = None, locale: str = "",
                    suspected_bot: bool = False, bot_reason: str = "") -> Response:
    """Record a score (and optional comment); one Response per invitation, later calls update it.

    Updates the rollups and emits ``response.created`` / ``response.updated`` in this transaction.
    """
    value = validate_score(survey, score)
    account = survey.account
    now = timezone.now()
    existing = None
    if invitation is not None:
        # Lock the invitation row: concurrent posts for one token serialize here (one response).
        Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        existing = Response.objects.filter(invitation=invitation).first()
        person = person or invitation.person
    if existing is None:
        response = Response.objects.create(
            account=account, survey=survey, invitation=invitation, person=person, score=value,
            comment=(comment or "").strip(), channel=invitation.channel if invitation else channel,
            properties={**(invitation.properties if invitation else {}), **(properties or {})},
            locale=locale or survey.locale, suspected_bot=suspected_bot, bot_reason=bot_reason,
            created_at=now, updated_at=now,
        )
        rollups.record_change(account=account, before=None, after=response)
        if person is not None:
            Person.objects.filter(pk=person.pk).update(last_responded_at=now)
        emit_event(account, "response.created", {"response_id": response.pk})
        return response
    before = copy.copy(existing)
    existing.score = value
    if comment is not None:
        existing.comment = comment.strip()
    if properties:
        existing.properties = {**existing.properties, **properties}
    if not suspected_bot and existing.suspected_bot:
        existing.suspected_bot, existing.bot_reason = False, ""  # a real interaction confirms it
    if (before.score, before.comment, before.suspected_bot) == (existing.score, existing.comment,
                                                                 existing.suspected_bot):
        return existing
    existing.updated_at = now
    existing.save()
    rollups.record_change(account=account, before=before, after=existing)
    emit_event(account, "response.updated", {"response_id": existing.pk})
    return existing
