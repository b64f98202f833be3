"""Writes and rules behind the Delighted-compatible API; they call the surveys/responses services."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.events import emit_event
from accounts.jsonq import has_properties, has_tags
from accounts.models import Account, ApiKey
from accounts.scoping import account_scope, cross_account
from integrations.delighted.models import AutopilotMembership, SurveyBinding, Trend
from responses import rollups
from responses import services as response_services
from responses.models import SCORE_COLUMNS, DailyRollup, Response
from surveys import services as survey_services
from surveys.models import Channel, Invitation, Person, Suppression, Survey, SurveyKind
from surveys.services.suppressions import cancel_pending_invitations, erase_person, suppress_address

# Delighted's "Delighted *" properties are set by the platform itself: callers may not overwrite them.
RESERVED_PROPERTIES = {"Delighted Source", "Delighted Link Name", "Delighted Device Type",
                       "Delighted Operating System", "Delighted Browser"}
DEFAULT_METRICS_WINDOW = timedelta(days=30)


def survey_for_key(api_key: ApiKey) -> Survey:
    """The Delighted "project" of a key: its bound survey, else the account's default survey."""
    binding = SurveyBinding.objects.filter(api_key=api_key).select_related("survey").first()
    if binding is not None:
        return binding.survey
    survey = api_key.account.surveys.filter(is_default=True).first()
    return survey or survey_services.create_default_survey(api_key.account)


@transaction.atomic
def bind_key_to_survey(*, api_key: ApiKey, survey: Survey) -> SurveyBinding:
    """Make ``survey`` the project of ``api_key`` (same account only)."""
    if survey.account_id != api_key.account_id:
        raise ValidationError({"survey": _("Unknown survey.")})
    binding, _created = SurveyBinding.objects.update_or_create(
        api_key=api_key, defaults={"account_id": api_key.account_id, "survey": survey})
    return binding


def _clean_caller_properties(properties: dict[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in properties.items() if str(k) not in RESERVED_PROPERTIES}


@transaction.atomic
def upsert_and_schedule(*, account: Account, survey: Survey, email: str | None, phone_number: str | None,
                        name: str | None, properties: dict[str, Any], channel: str, send: bool,
                        delay: int, last_sent_at: datetime | None, email_update: str | None,
                        phone_number_update: str | None) -> tuple[Person, bool, Invitation | None]:
    """POST /v1/people: create or update the person (by email, else phone), then schedule a survey.

    ``email_update`` / ``phone_number_update`` rename the person found by ``email`` / ``phone_number``.
    Throttling is not checked here: the dispatcher skips a throttled send silently (Delighted §6.3).
    """
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValidationError({"channel": _("must be email or sms")})
    if channel == Channel.SMS and not phone_number:
        raise ValidationError({"phone_number": _("can't be blank when channel is sms")})
    if channel == Channel.EMAIL and not email and send:
        raise ValidationError({"email": _("can't be blank")})
    properties = _clean_caller_properties(properties)
    lookup_email = survey_services.people.normalize_email(email)
    if email_update or phone_number_update:
        existing = (account.people.filter(email=lookup_email).first() if lookup_email
                    else account.people.filter(phone_number=phone_number).first() if phone_number else None)
        if existing is not None:
            _rename_person(person=existing, email=email_update, phone_number=phone_number_update)
            email = email_update or existing.email
            phone_number = phone_number_update or existing.phone_number
    person, created = survey_services.upsert_person(account=account, email=email, phone_number=phone_number,
                                                    name=name, properties=properties)
    if last_sent_at is not None:
        Person.objects.filter(pk=person.pk).update(last_surveyed_at=last_sent_at)
        person.last_surveyed_at = last_sent_at
    invitation = None
    if send:
        invitation = survey_services.schedule_invitation(
            survey=survey, person=person, scheduled_at=timezone.now() + timedelta(seconds=delay),
            channel=channel, properties=properties)
    return person, created, invitation


def _rename_person(*, person: Person, email: str | None, phone_number: str | None) -> None:
    clean = survey_services.people.clean_person_fields(
        email=email or person.email, phone_number=phone_number or person.phone_number, name=person.name,
        properties=None)
    taken = person.account.people.exclude(pk=person.pk)
    if email and taken.filter(email=clean["email"]).exists():
        raise ValidationError({"email_update": _("has already been taken")})
    if phone_number and taken.filter(phone_number=clean["phone_number"]).exists():
        raise ValidationError({"phone_number_update": _("has already been taken")})
    person.email, person.phone_number = clean["email"], clean["phone_number"]
    person.save(update_fields=["email", "phone_number", "updated_at"])


def delete_person(*, person: Person) -> None:
    """DELETE /v1/people/<id>: the person and all their data (erasure; suppressions stay hashed)."""
    erase_person(person=person)


def cancel_pending(*, person: Person) -> int:
    """DELETE /v1/people/<email>/survey_requests/pending: cancel every unsent invitation."""
    return cancel_pending_invitations(person=person)


@transaction.atomic
def create_response(*, survey: Survey, person: Person, score: Any, comment: str | None,
                    properties: dict[str, Any], created_at: datetime | None) -> Response:
    """POST /v1/survey_responses: record a response for a person; ``created_at`` backdates it."""
    response = response_services.record_response(
        survey=survey, score=score, person=person, comment=comment, channel=Channel.API,
        properties=_clean_caller_properties(properties))
    if created_at is not None and created_at != response.created_at:
        response.account = survey.account
        before = copy.copy(response)
        response.created_at = response.updated_at = created_at
        response.save(update_fields=["created_at", "updated_at"])
        rollups.record_change(account=survey.account, before=before, after=response)
    return response


@transaction.atomic
def update_response(*, response: Response, score: Any = None, comment: str | None = None,
                    person: Person | None = None, properties: dict[str, Any] | None = None) -> Response:
    """PUT /v1/survey_responses/<id>: change score, comment, person; properties merge."""
    response = Response.objects.select_for_update().select_related("survey", "account").get(pk=response.pk)
    before = copy.copy(response)
    if score is not None:
        response.score = response_services.validate_score(response.survey, score)
    if comment is not None:
        response.comment = response_services.clean_comment(comment) or ""
    if person is not None:
        if person.account_id != response.account_id:
            raise ValidationError({"person": _("is unknown")})
        response.person = person
    if properties:
        response.properties = {**response.properties,
                               **response_services.clean_properties(_clean_caller_properties(properties))}
    if (before.score, before.comment, before.person_id, before.properties) == (
            response.score, response.comment, response.person_id, response.properties):
        return response
    response.updated_at = timezone.now()
    response.save()
    rollups.record_change(account=response.account, before=before, after=response)
    if (before.score, before.comment) != (response.score, response.comment):
        emit_event(response.account, "response.updated", {"response_id": response.pk})
    return response


def unsubscribe(*, account: Account, email: str) -> Suppression:
    """POST /v1/unsubscribes: like the person clicking "Unsubscribe"; past responses stay."""
    with transaction.atomic():
        row = suppress_address(account=account, email=email, reason=Suppression.Reason.UNSUBSCRIBED, source="api")
        person = account.people.filter(email=row.email).first()
        if person is not None:
            cancel_pending_invitations(person=person)
    return row


# -- metrics --------------------------------------------------------------------------------------

def score_counts(*, survey: Survey, since: datetime, until: datetime) -> list[int]:
    """Counts of each score 0..10 of non-bot responses created in [since, until].

    Whole days inside the range come from the daily rollups (O(days)); the two partial edge days
    are counted from raw rows (indexed on account, survey, created_at).
    """
    account = survey.account
    first_full = rollups.rollup_day(account, since) + timedelta(days=1)
    last_full = rollups.rollup_day(account, until) - timedelta(days=1)
    counts = [0] * len(SCORE_COLUMNS)
    if first_full <= last_full:
        sums = DailyRollup.objects.filter(account=account, survey=survey, day__gte=first_full,
                                          day__lte=last_full).aggregate(**{c: Sum(c) for c in SCORE_COLUMNS})
        counts = [sums[c] or 0 for c in SCORE_COLUMNS]
        edges = [(since, _day_start(account, first_full)), (_day_start(account, last_full + timedelta(days=1)),
                                                            until + timedelta(microseconds=1))]
    else:
        edges = [(since, until + timedelta(microseconds=1))]
    for start, end in edges:
        if start >= end:
            continue
        rows = (Response.objects.filter(account=account, survey=survey, suspected_bot=False, created_at__gte=start,
                                        created_at__lt=end).values_list("score").order_by())
        for (score,) in rows.iterator():
            counts[score] += 1
    return counts


def _day_start(account: Account, day: Any) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=account.tz)


def default_window(*, survey: Survey, trend: Trend | None = None) -> tuple[datetime, datetime] | None:
    """30 days ending at the newest response (Delighted's documented default), or None."""
    rows = Response.objects.filter(account=survey.account, survey=survey, suspected_bot=False)
    if trend is not None:
        rows = responses_in_trend(rows, trend)
    newest = rows.order_by("-created_at").values_list("created_at", flat=True).first()
    if newest is None:
        return None
    return newest - DEFAULT_METRICS_WINDOW, newest


def percent(part: int, total: int) -> int:
    return round(100 * part / total) if total else 0


def trend_score_counts(*, survey: Survey, trend: Trend, since: datetime, until: datetime) -> list[int]:
    """Counts of each score 0..10 of the trend's responses in [since, until]: raw rows (rollups know no segment)."""
    rows = responses_in_trend(Response.objects.filter(account=survey.account, survey=survey, suspected_bot=False,
                                                      created_at__gte=since, created_at__lte=until), trend)
    counts = [0] * len(SCORE_COLUMNS)
    for score, count in rows.order_by().values_list("score").annotate(n=Count("id")):
        counts[score] = count
    return counts


def metrics(*, survey: Survey, since: datetime | None, until: datetime | None,
            trend: Trend | None = None) -> dict[str, int | float]:
    """GET /v1/metrics: NPS keys as integers; other kinds emit their groups (a Verbatim extension).

    With a ``trend`` only its responses count (the default window ends at the trend's newest response).
    """
    if since is None and until is None:
        window = default_window(survey=survey, trend=trend)
        since, until = window if window is not None else (None, None)
        if window is None:
            counts = [0] * 11
    if since is not None or until is not None:
        since, until = since or datetime.fromtimestamp(0, tz=UTC), until or timezone.now()
        counts = (score_counts(survey=survey, since=since, until=until) if trend is None
                  else trend_score_counts(survey=survey, trend=trend, since=since, until=until))
    total = sum(counts)
    groups: dict[str, int] = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, count in enumerate(counts):
        if count and survey.scale_min <= score <= survey.scale_max:
            groups[survey.group_of(score)] += count
    if survey.kind == SurveyKind.NPS:
        promoter_pct = 100 * groups["promoter"] / total if total else 0
        detractor_pct = 100 * groups["detractor"] / total if total else 0
        return {"nps": round(promoter_pct - detractor_pct),
                "promoter_count": groups["promoter"], "promoter_percent": percent(groups["promoter"], total),
                "passive_count": groups["passive"], "passive_percent": percent(groups["passive"], total),
                "detractor_count": groups["detractor"], "detractor_percent": percent(groups["detractor"], total),
                "response_count": total}
    names = {SurveyKind.CES: ("agree", "neutral", "disagree", "ces"),
             SurveyKind.CSAT: ("satisfied", "neutral", "dissatisfied", "csat")}
    result: dict[str, int | float] = {"response_count": total}
    if survey.kind in names:
        high, middle, low, headline = names[SurveyKind(survey.kind)]
        for name, group in ((high, "promoter"), (middle, "passive"), (low, "detractor")):
            result[f"{name}_count"] = groups[group]
            result[f"{name}_percent"] = percent(groups[group], total)
        result[headline] = percent(groups["promoter"], total)
    if survey.kind == SurveyKind.FIVE_STAR:
        for star in range(1, 6):
            result[f"star_{star}_count"] = counts[star]
            result[f"star_{star}_percent"] = percent(counts[star], total)
    if survey.kind != SurveyKind.NPS:
        weighted = sum(score * count for score, count in enumerate(counts))
        result["average_score"] = round(weighted / total, 2) if total else 0
    return result


# -- autopilot ------------------------------------------------------------------------------------

AUTOPILOT_RECHECK = timedelta(hours=1)  # previous send still pending, or autopilot off: look again later
AUTOPILOT_BATCH = 500
# While the previous autopilot invitation is in one of these, the dispatcher still owes it: the next
# one waits. Any other status (sent, failed, skipped for any reason, cancelled) means it is over.
AUTOPILOT_WAITING_STATUSES = {Invitation.Status.SCHEDULED, Invitation.Status.SENDING}


def autopilot_frequency(autopilot: Any) -> timedelta:
    """Time between two recurring sends (Delighted's ``frequency``, in whole days here)."""
    return timedelta(days=autopilot.every_days)


def autopilot_dedupe_key(membership: AutopilotMembership, number: int) -> str:
    """The dedupe key of a member's n-th autopilot invitation: scheduling it twice is a no-op."""
    return f"autopilot:{membership.pk}:{number}"


def autopilot_of(*, survey: Survey) -> Any:
    """The survey's Autopilot (surveys.Autopilot), or None when never configured."""
    from surveys.models import Autopilot

    return Autopilot.objects.filter(account=survey.account, survey=survey).first()


@transaction.atomic
def add_autopilot_member(*, survey: Survey, platform: str, person: Person,
                         properties: dict[str, Any]) -> AutopilotMembership:
    """Enrol a person (properties replace earlier ones); a new member gets a first survey scheduled now."""
    autopilot = autopilot_of(survey=survey)
    if autopilot is None:
        raise ValidationError({"platform_id": _("Autopilot is not configured for this project")})
    channel = Channel.SMS if platform == AutopilotMembership.Platform.SMS else Channel.EMAIL
    properties = _clean_caller_properties(properties)
    now = timezone.now()
    membership, created = AutopilotMembership.objects.select_for_update().get_or_create(
        survey=survey, platform=platform, person=person,
        defaults={"account_id": survey.account_id, "properties": properties, "created_at": now, "updated_at": now})
    if not created:
        membership.properties, membership.updated_at = properties, now
        membership.save(update_fields=["properties", "updated_at"])
    else:
        survey_services.schedule_invitation(survey=survey, person=person, scheduled_at=now, channel=channel,
                                            properties=properties, dedupe_key=autopilot_dedupe_key(membership, 0))
        membership.sends_scheduled, membership.next_send_at = 1, now + autopilot_frequency(autopilot)
        membership.save(update_fields=["sends_scheduled", "next_send_at"])
    return membership


@transaction.atomic
def remove_autopilot_member(*, membership: AutopilotMembership) -> Person:
    """Remove a member and cancel their pending surveys of this survey; the person and responses stay."""
    person = membership.person
    cancel_pending_invitations(person=person, survey=membership.survey)
    membership.delete()
    return person


def schedule_next_autopilot_send(*, membership: AutopilotMembership, now: datetime | None = None) -> Invitation | None:
    """Schedule a member's next recurring survey when it is due; returns it, or None (not due yet).

    Due means: the previous autopilot invitation of this member is no longer pending (sent, skipped,
    failed or cancelled) and one ``frequency`` has passed since it was sent (or scheduled, when it
    never went out). Otherwise ``next_send_at`` moves to when it could be. Idempotent twice over: the
    round counter is claimed with a conditional UPDATE, and the invitation's dedupe key is unique.
    The throttle is not checked here: the dispatcher applies it when sending.
    """
    from surveys.models import Autopilot

    now = now or timezone.now()
    autopilot = Autopilot.objects.filter(account_id=membership.account_id, survey_id=membership.survey_id).first()
    survey = membership.survey
    if autopilot is None or not autopilot.enabled or survey.status != Survey.Status.ACTIVE:
        AutopilotMembership.objects.filter(pk=membership.pk).update(next_send_at=now + AUTOPILOT_RECHECK)
        return None
    number = membership.sends_scheduled
    previous = (Invitation.objects.filter(account_id=membership.account_id, survey=survey,
                                          person_id=membership.person_id,
                                          dedupe_key=autopilot_dedupe_key(membership, number - 1)).first()
                if number else None)
    if previous is not None and previous.status in AUTOPILOT_WAITING_STATUSES:
        AutopilotMembership.objects.filter(pk=membership.pk).update(next_send_at=now + AUTOPILOT_RECHECK)
        return None
    if previous is not None:
        due_at = (previous.sent_at or previous.scheduled_at) + autopilot_frequency(autopilot)
        if due_at > now:
            AutopilotMembership.objects.filter(pk=membership.pk).update(next_send_at=due_at)
            return None
    channel = Channel.SMS if membership.platform == AutopilotMembership.Platform.SMS else Channel.EMAIL
    with transaction.atomic():
        claimed = AutopilotMembership.objects.filter(pk=membership.pk, sends_scheduled=number).update(
            sends_scheduled=number + 1, next_send_at=now + autopilot_frequency(autopilot))
        if claimed != 1:
            return None  # another cycle scheduled this round
        try:
            with transaction.atomic():
                return survey_services.schedule_invitation(
                    survey=survey, person=membership.person, scheduled_at=now, channel=channel,
                    properties=membership.properties, dedupe_key=autopilot_dedupe_key(membership, number))
        except ValidationError:
            return None  # no address or a placeholder without value this round: skip it, try next frequency


def schedule_due_autopilot_sends(*, now: datetime | None = None, limit: int = AUTOPILOT_BATCH) -> int:
    """Beat cycle: schedule the next recurring survey of every autopilot member that is due; returns the count."""
    now = now or timezone.now()
    with cross_account():  # the scheduler serves every account; each member is handled in its scope below
        due = list(AutopilotMembership.objects.filter(next_send_at__lte=now).select_related("survey", "person")
                   .order_by("next_send_at", "id")[:limit])
    scheduled = 0
    for membership in due:
        with account_scope(membership.account_id):
            if schedule_next_autopilot_send(membership=membership, now=now) is not None:
                scheduled += 1
    return scheduled


# -- trends ---------------------------------------------------------------------------------------

TREND_FILTER_KEYS = {"properties", "person_properties", "tags", "score_min", "score_max", "has_comment"}


def clean_trend_filters(filters: Any) -> dict[str, Any]:
    """Validate a trend's filters (see ``Trend``); a bad key or value is a ValidationError naming it."""
    if not isinstance(filters, dict):
        raise ValidationError({"filters": _("Use an object.")})
    unknown = sorted(set(filters) - TREND_FILTER_KEYS)
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown filter.")})
    clean: dict[str, Any] = {}
    for key in ("properties", "person_properties"):
        value = filters.get(key)
        if value in (None, {}):
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str | int | float | bool) for v in value.values()):
            raise ValidationError({key: _("Use an object of property names and text, number or boolean values.")})
        clean[key] = {str(k): v for k, v in value.items()}
    tags = filters.get("tags")
    if tags not in (None, []):
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ValidationError({"tags": _("Use a list of tags.")})
        clean["tags"] = sorted({t.strip().lower() for t in tags})
    for key in ("score_min", "score_max"):
        value = filters.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise ValidationError({key: _("Use a whole number from 0 to 10.")})
        clean[key] = value
    if clean.get("score_min", 0) > clean.get("score_max", 10):
        raise ValidationError({"score_min": _("Must not exceed score_max.")})
    if filters.get("has_comment") is not None:
        if not isinstance(filters["has_comment"], bool):
            raise ValidationError({"has_comment": _("Use true or false.")})
        clean["has_comment"] = filters["has_comment"]
    return clean


def responses_in_trend(rows: QuerySet[Response], trend: Trend) -> QuerySet[Response]:
    """Restrict a queryset of responses to a trend's segment (every filter must hold)."""
    f = trend.filters or {}
    if f.get("properties"):
        rows = rows.filter(has_properties("properties", f["properties"]))
    if f.get("person_properties"):
        rows = rows.filter(has_properties("person__properties", f["person_properties"]))
    if f.get("tags"):
        rows = rows.filter(has_tags("tags", f["tags"]))
    if f.get("score_min") is not None:
        rows = rows.filter(score__gte=f["score_min"])
    if f.get("score_max") is not None:
        rows = rows.filter(score__lte=f["score_max"])
    if f.get("has_comment") is True:
        rows = rows.exclude(comment="")
    elif f.get("has_comment") is False:
        rows = rows.filter(comment="")
    return rows


@transaction.atomic
def create_trend(*, account: Account, name: str, filters: dict[str, Any]) -> Trend:
    """Save a named segment of responses: usable as ``trend=<id>`` on /v1/survey_responses and /v1/metrics."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("This field may not be blank.")})
    return Trend.objects.create(account=account, name=name[:100], filters=clean_trend_filters(filters))


@transaction.atomic
def update_trend(*, trend: Trend, name: str | None = None, filters: dict[str, Any] | None = None) -> Trend:
    """Rename a trend or replace its filters."""
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("This field may not be blank.")})
        trend.name = name.strip()[:100]
    if filters is not None:
        trend.filters = clean_trend_filters(filters)
    trend.updated_at = timezone.now()
    trend.save(update_fields=["name", "filters", "updated_at"])
    return trend


def delete_trend(*, trend: Trend) -> None:
    """Remove a saved trend; responses are untouched."""
    trend.delete()
