"""Every write of responses: the token door, recording scores, comments and answers, bot flags."""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import sql
from accounts.events import emit_event, publish_on_commit
from accounts.models import hash_secret
from accounts.scoping import cross_account
from responses import rollups
from responses.models import Answer, Response
from surveys.models import Channel, Invitation, Person, Question, Survey

MAX_COMMENT = 5000
MAX_TEXT_ANSWER = 2000
MAX_OTHER_TEXT = 1000
MAX_PROPERTIES = 30
MAX_PROPERTY_KEY = 64
MAX_PROPERTY_VALUE = 500
OTHER = "other"


class LinkUnknown(Exception):
    """No invitation has this token (404)."""


class LinkGone(Exception):
    """The invitation's link expired or was cancelled (410)."""


@functools.cache
def _token_sql() -> str:
    from accounts.models import Account

    return (f"SELECT {sql.select_list(Invitation, 'i')}, {sql.select_list(Survey, 's')}, "  # noqa: S608 (identifiers from model metadata)
            f"{sql.select_list(Account, 'a')}, {sql.select_list(Person, 'p')} "
            "FROM surveys_invitation i JOIN surveys_survey s ON s.id = i.survey_id AND s.account_id = i.account_id "
            "JOIN accounts_account a ON a.id = i.account_id "
            "JOIN surveys_person p ON p.id = i.person_id AND p.account_id = i.account_id "
            "WHERE i.token_hash = %s")


@functools.cache
def _token_sql_with_questions() -> str:
    """PostgreSQL: the survey's questions ride along as JSON (one round trip for the whole door)."""
    select, rest = _token_sql().split(" FROM surveys_invitation ", 1)
    return (f"{select}, (SELECT json_agg(q ORDER BY q.position, q.id) FROM surveys_question q "  # noqa: S608 (model metadata)
            f"WHERE q.survey_id = s.id AND q.account_id = s.account_id) FROM surveys_invitation {rest}")


@functools.cache
def _survey_key_sql() -> str:
    """PostgreSQL: the content key of a token's survey, account and questions (``s``, ``a``): their ids and row
    versions. Every write of a row, whatever wrote it (the ORM, ``update()``, raw SQL), makes a new version
    with the writing transaction's id (``xmin``) at a new place (``ctid``; within one transaction two versions
    share the ``xmin``, never the place); a new or deleted question changes the list. Equal keys mean
    unchanged rows, so a cached copy needs no invalidation."""
    return ("concat_ws(':', a.id, a.xmin, a.ctid, s.id, s.xmin, s.ctid, (SELECT string_agg(q.id || '.' || q.xmin "
            "|| '.' || q.ctid, ',' ORDER BY q.id) FROM surveys_question q "
            "WHERE q.survey_id = s.id AND q.account_id = s.account_id))")


@functools.cache
def _token_sql_for_capture() -> str:
    """PostgreSQL, for a POST: the invitation, the person and the survey's content key (the survey, account
    and questions come from the process's cache, ``_survey_parts``), plus what a first answer's one write
    statement needs (``responses/capture_pg.py``)."""
    from responses import capture_pg

    return (f"SELECT {sql.select_list(Invitation, 'i')}, {sql.select_list(Person, 'p')}, "  # noqa: S608 (model metadata)
            f"{_survey_key_sql()}, {capture_pg.door_columns_sql()} "
            "FROM surveys_invitation i JOIN surveys_survey s ON s.id = i.survey_id AND s.account_id = i.account_id "
            "JOIN accounts_account a ON a.id = i.account_id "
            "JOIN surveys_person p ON p.id = i.person_id AND p.account_id = i.account_id "
            "WHERE i.token_hash = %s")


@functools.cache
def _survey_parts_sql() -> str:
    """PostgreSQL: a survey with its account and questions, and their content key (a cache miss)."""
    from accounts.models import Account

    return (f"SELECT {sql.select_list(Survey, 's')}, {sql.select_list(Account, 'a')}, "  # noqa: S608 (model metadata)
            "(SELECT json_agg(q ORDER BY q.position, q.id) FROM surveys_question q "
            f"WHERE q.survey_id = s.id AND q.account_id = s.account_id), {_survey_key_sql()} "
            "FROM surveys_survey s JOIN accounts_account a ON a.id = s.account_id "
            "WHERE s.id = %s AND s.account_id = %s")


SURVEY_CACHE_SIZE = 512
# content key -> (survey, account, questions) as read, never handed out: each request gets copies.
_survey_cache: dict[str, tuple[Survey, Any, list[Question]]] = {}


def _copy(obj: Any) -> Any:
    """A shallow copy of a model instance with its own state and no cached relations (cheaper than
    ``copy.copy``). Field values are shared: JSON values (``thank_you``, ``choices``, ...) are read, never
    changed in place, on the respondent's pages."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    state = new._state = ModelState()
    state.adding, state.db = False, obj._state.db
    return new


def _survey_parts(key: str, invitation: Invitation) -> tuple[Survey, Any]:
    """Per-request copies of the invitation's survey, account and questions (the survey's questions cache
    filled, everything pointing at the one account copy), from the process's cache by content key.

    The key names the account and survey ids the door read from the invitation's row, so an entry can only
    ever serve that account's tokens; a miss reads the rows (one statement) and caches them under the key
    that read returned (a concurrent edit then simply makes the next door miss again)."""
    cached = _survey_cache.get(key)
    if cached is None or cached[0].pk != invitation.survey_id or cached[1].pk != invitation.account_id:
        cached, key = _read_survey_parts(invitation)
        if len(_survey_cache) >= SURVEY_CACHE_SIZE:
            _survey_cache.clear()
        _survey_cache[key] = cached
    survey_row, account_row, question_rows = cached
    survey, account = _copy(survey_row), _copy(account_row)
    survey._state.fields_cache["account"] = account
    questions = []
    for row in question_rows:
        question = _copy(row)
        question._state.fields_cache["survey"] = survey
        question._state.fields_cache["account"] = account
        questions.append(question)
    survey._questions_cache = questions
    return survey, account


def _read_survey_parts(invitation: Invitation) -> tuple[tuple[Survey, Any, list[Question]], str]:
    from accounts.models import Account

    with connection.cursor() as cursor:
        cursor.execute(_survey_parts_sql(), [invitation.survey_id, invitation.account_id])
        row = cursor.fetchone()
    if row is None:  # deleted since the door read the invitation
        raise LinkUnknown
    (survey, account), _end = sql.instances(row, Survey, Account)
    questions = [sql.from_json(Question, q) for q in row[-2] or []]
    return (survey, account, questions), row[-1]


def _capture_door(raw: str) -> tuple[Invitation, Survey, Any, Person]:
    """PostgreSQL, a POST: the door in one round trip (two on a cache miss), survey, account and questions
    from the process's cache (``_survey_parts``)."""
    from responses import capture_pg

    row = sql.fetchone_prepared(_token_sql_for_capture(), [hash_secret(raw)])
    if row is None:
        raise LinkUnknown
    (invitation, person), offset = sql.instances(row, Invitation, Person)
    survey, account = _survey_parts(row[offset], invitation)
    invitation.capture = capture_pg.door_extras(row[offset + 1:])
    return invitation, survey, account, person


def invitation_for_token(raw: str, *, capture: bool = False) -> Invitation:
    """The invitation a respondent link opens: the respondent door into the tenant scope.

    Looks the token up by its SHA-256 across accounts (no scope exists before the token names
    one); the caller then enters ``account_scope(invitation.account)``. Raises ``LinkUnknown``
    or ``LinkGone`` (expired or cancelled; an answered invitation stays editable while its
    response's edit window is open). One hand-written query (the hot path: ``accounts/sql.py``)
    returns the invitation with its survey, account and person. ``capture`` (a POST, on PostgreSQL): it
    also reads what ``capture_pg.first_answer`` needs, kept on ``invitation.capture``, and takes the
    survey, account and questions from the process's cache (``_survey_parts``).
    """
    from accounts.models import Account

    if not raw or len(raw) > 128:
        raise LinkUnknown
    postgres = connection.vendor == "postgresql"
    if postgres and capture:  # the token is the door: nothing names the account before it
        invitation, survey, account, person = _capture_door(raw)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_token_sql_with_questions() if postgres else _token_sql(), [hash_secret(raw)])
            row = cursor.fetchone()
        if row is None:
            raise LinkUnknown
        (invitation, survey, account, person), _end = sql.instances(row, Invitation, Survey, Account, Person)
        survey.account = account
        if postgres:
            survey._questions_cache = [sql.from_json(Question, q) for q in row[-1] or []]
            for question in survey._questions_cache:
                question.survey = survey
        invitation.capture = None
    # one account object for the whole request
    invitation._state.fields_cache["account"] = person._state.fields_cache["account"] = account
    invitation._state.fields_cache["survey"], invitation._state.fields_cache["person"] = survey, person
    if invitation.status == Invitation.Status.CANCELLED:
        raise LinkGone
    now = timezone.now()
    if invitation.token_expires_at is not None and invitation.token_expires_at <= now:
        with cross_account():
            response = Response.objects.filter(invitation=invitation).only("pk", "created_at").first()
        if response is None or not editable(response, account=account, now=now):
            raise LinkGone
    return invitation


def survey_questions(survey: Survey) -> list[Question]:
    """The survey's extra questions in order, read once per request (cached on the instance)."""
    cached = getattr(survey, "_questions_cache", None)
    if cached is None:
        cached = survey._questions_cache = sql.fetch_instances(
            Question, f"SELECT {sql.select_list(Question, 'q')} FROM surveys_question q "  # noqa: S608 (identifiers from model metadata)
                      "WHERE q.survey_id = %s AND q.account_id = %s ORDER BY q.position, q.id",
            [survey.pk, survey.account_id])
        for question in cached:
            question.survey = survey
    return cached


def editable(response: Response, *, account: Any, now: Any = None) -> bool:
    """Whether the respondent may still change this response (the account's edit window)."""
    return (now or timezone.now()) < response.created_at + timedelta(days=account.edit_window_days)


def validate_score(survey: Survey, score: Any) -> int:
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": _("The score must be a whole number.")}) from None
    if str(score).strip() not in (str(value), f"{value}.0") or not survey.scale_min <= value <= survey.scale_max:
        raise ValidationError({"score": _("The score must be between %(min)d and %(max)d.")
                               % {"min": survey.scale_min, "max": survey.scale_max}})
    return value


def clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ValidationError({"comment": _("The comment must be text.")})
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": _("Please keep the comment under %(max)d characters.")
                               % {"max": MAX_COMMENT}})
    return comment


def clean_properties(properties: Any) -> dict[str, Any]:
    """Properties from a link or widget: at most 30, short keys, short scalar values."""
    if not properties:
        return {}
    if not isinstance(properties, dict):
        raise ValidationError({"properties": _("Properties must be an object of names and values.")})
    if len(properties) > MAX_PROPERTIES:
        raise ValidationError({"properties": _("At most %(max)d properties.") % {"max": MAX_PROPERTIES}})
    clean = {}
    for key, value in properties.items():
        key = str(key).strip()
        if not key or len(key) > MAX_PROPERTY_KEY:
            raise ValidationError({"properties": _("Property names must be 1 to %(max)d characters.")
                                   % {"max": MAX_PROPERTY_KEY}})
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValidationError({"properties": _("Property values must be text or numbers.")})
        if isinstance(value, str) and len(value) > MAX_PROPERTY_VALUE:
            raise ValidationError({"properties": _("Property values must be at most %(max)d characters.")
                                   % {"max": MAX_PROPERTY_VALUE}})
        clean[key] = value
    return clean


def check_edit_window(response: Response, now: Any) -> None:
    if not editable(response, account=response.account, now=now):
        raise ValidationError({"response": _("This answer can no longer be changed.")})


@dataclass
class _Write:
    """A response written in this transaction: its state before (None: created) and whether it changed."""

    response: Response
    before: Response | None
    changed: bool
    side_effects_done: bool = False  # the person and event writes went with the INSERT (PostgreSQL)


def _locked_response(invitation: Invitation) -> Response | None:
    """Lock the invitation row, then read its response: concurrent posts for one token serialize here.

    Two statements on purpose: under READ COMMITTED the read needs a snapshot taken after the lock
    was granted, or it misses the response the lock holder just committed."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM surveys_invitation WHERE id = %s AND account_id = %s{lock}",  # noqa: S608 (model metadata)
                       [invitation.pk, invitation.account_id])
        cursor.execute(f"SELECT {sql.select_list(Response, 'r')} FROM responses_response r "  # noqa: S608 (model metadata)
                       "WHERE r.invitation_id = %s AND r.account_id = %s", [invitation.pk, invitation.account_id])
        row = cursor.fetchone()
    return sql.instance(Response, row) if row else None


def _new_response(*, survey: Survey, value: int, invitation: Invitation | None, person: Person | None,
                  comment: str | None, channel: str, properties: dict[str, Any], locale: str, suspected_bot: bool,
                  bot_reason: str, now: Any, complete: bool) -> Response:
    return Response(
        account=survey.account, survey=survey, invitation=invitation, person=person, score=value,
        comment=comment or "", channel=invitation.channel if invitation else channel,
        properties={**(invitation.properties if invitation else {}), **properties},
        locale=locale or survey.locale, suspected_bot=suspected_bot, bot_reason=bot_reason[:100],
        created_at=now, updated_at=now, completed_at=now if complete else None,
    )


def _insert_first(*, survey: Survey, value: int, invitation: Invitation, person: Person | None,
                  comment: str | None, properties: dict[str, Any], locale: str, suspected_bot: bool,
                  bot_reason: str, now: Any, complete: bool = False,
                  answers: dict[int, tuple[Any, str] | None] | None = None) -> _Write | None:
    """The first answer to an invitation, without taking its lock: INSERT unless the invitation
    already has a response (its unique index makes a concurrent first answer wait, then skip).
    None when one exists: the caller takes the locked path and updates it."""
    response = _new_response(survey=survey, value=value, invitation=invitation, person=person, comment=comment,
                             channel="", properties=properties, locale=locale, suspected_bot=suspected_bot,
                             bot_reason=bot_reason, now=now, complete=complete)
    if connection.vendor == "postgresql":
        return _insert_first_pg(response, answers or {}, now)
    if sql.save_new_unless_conflict(response, ("invitation_id",)):
        return _Write(response=response, before=None, changed=True)
    return None


def _insert_first_pg(response: Response, answers: dict[int, tuple[Any, str] | None], now: Any) -> _Write | None:
    """PostgreSQL: the response, its answers, the person's ``last_responded_at`` and the
    ``response.created`` event in one statement (data-modifying CTEs); nothing at all when the
    invitation already has a response."""
    account_id = response.account_id
    row = sql.row_values(response)
    cols = ", ".join(sql.quote(Response._meta.get_field(a).column) for a in row)
    params: list[Any] = [sql.prep(Response, a, v) for a, v in row.items()]
    answer_rows = [(qid, result) for qid, result in answers.items() if result is not None]
    parts = [f"resp AS (INSERT INTO responses_response ({cols}) VALUES ({', '.join(['%s'] * len(row))}) "  # noqa: S608 (model metadata)
             "ON CONFLICT (invitation_id) DO NOTHING RETURNING id)"]
    if answer_rows:
        values = ", ".join(["(%s, %s::jsonb, %s)"] * len(answer_rows))
        parts.append("ans AS (INSERT INTO responses_answer (account_id, response_id, question_id, value, other_text, "  # noqa: S608 (model metadata)
                     f"updated_at) SELECT %s, resp.id, v.qid, v.value, v.other, %s FROM resp, (VALUES {values}) "
                     "AS v(qid, value, other))")
        params += [account_id, sql.prep(Answer, "updated_at", now)]
        for qid, (value, other) in answer_rows:
            params += [qid, sql.prep(Answer, "value", value), other]
    if response.person_id is not None:
        parts.append("per AS (UPDATE surveys_person SET last_responded_at = %s FROM resp "
                     "WHERE surveys_person.id = %s AND surveys_person.account_id = %s)")
        params += [sql.prep(Person, "last_responded_at", now), response.person_id, account_id]
    parts.append("ev AS (INSERT INTO accounts_event (account_id, kind, payload, status, attempts, created_at) "
                 "SELECT %s, 'response.created', jsonb_build_object('response_id', resp.id), 'pending', 0, %s "
                 "FROM resp RETURNING id)")
    params += [account_id, sql.prep(Response, "created_at", now)]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT resp.id, ev.id FROM resp, ev", params)  # noqa: S608 (model metadata)
        ids = cursor.fetchone()
    if ids is None:
        return None
    sql.mark_saved(response, ids[0])
    publish_on_commit(account_id, ids[1])
    return _Write(response=response, before=None, changed=True, side_effects_done=True)


def _write_score(*, survey: Survey, value: int, invitation: Invitation | None, existing: Response | None,
                 person: Person | None, comment: str | None, channel: str, properties: dict[str, Any], locale: str,
                 suspected_bot: bool, bot_reason: str, automatic: bool, now: Any, complete: bool = False) -> _Write:
    """Create the response or change the existing one (one row write); no rollup, no event yet."""
    account = survey.account
    if existing is None:
        response = _new_response(survey=survey, value=value, invitation=invitation, person=person, comment=comment,
                                 channel=channel, properties=properties, locale=locale, suspected_bot=suspected_bot,
                                 bot_reason=bot_reason, now=now, complete=complete)
        sql.save_new([response])
        return _Write(response=response, before=None, changed=True)
    existing.account, existing.survey = account, survey
    before = copy.copy(existing)
    if value != before.score or (comment is not None and comment != before.comment):
        check_edit_window(existing, now)
    existing.score = value
    if comment is not None:
        existing.comment = comment
    if properties:
        existing.properties = {**existing.properties, **properties}
    if suspected_bot and not existing.suspected_bot and not (existing.comment or existing.completed_at):
        existing.suspected_bot, existing.bot_reason = True, bot_reason[:100]
    elif not suspected_bot and not automatic and existing.suspected_bot:
        existing.suspected_bot, existing.bot_reason = False, ""  # a real interaction confirms it
    if complete and existing.completed_at is None:
        existing.completed_at = now
    fields = ("score", "comment", "properties", "suspected_bot", "completed_at")
    changed = any(getattr(before, f) != getattr(existing, f) for f in fields)
    if changed:
        existing.updated_at = now
        existing.save()
    return _Write(response=existing, before=before, changed=changed)


def _finish(write: _Write, *, now: Any) -> None:
    """The side effects of a write: person, event, and last the rollup (its row is the hot one, so
    it is locked for the shortest time: from here to the commit)."""
    response, account = write.response, write.response.account
    if write.side_effects_done:
        pass
    elif write.before is None:
        if response.person_id is not None:
            sql.execute("UPDATE surveys_person SET last_responded_at = %s WHERE id = %s AND account_id = %s",
                        [sql.prep(Person, "last_responded_at", now), response.person_id, account.pk])
        emit_event(account, "response.created", {"response_id": response.pk})
    elif write.changed:
        emit_event(account, "response.updated", {"response_id": response.pk})
    if write.changed and not response.suspected_bot:
        from responses.cases import open_case_for_response  # cases builds on this module's models only

        open_case_for_response(response=response, now=now, created=write.before is None)
    if write.changed:
        rollups.record_change(account=account, before=write.before, after=response)


def _one_statement_possible(invitation: Invitation | None) -> bool:
    """Whether a first answer can be the one statement of ``capture_pg``: the invitation came through a
    capture door (PostgreSQL) and its account has case settings (their first use creates them)."""
    capture = getattr(invitation, "capture", None)
    return capture is not None and capture.case_context.settings_row is not None


def _first_answer_in_one_statement(*, survey: Survey, value: int, invitation: Invitation, person: Person | None,
                                   comment: str | None, channel: str, properties: dict[str, Any], locale: str,
                                   now: Any, complete: bool,
                                   answers: dict[int, tuple[Any, str] | None]) -> Response | None:
    """The counted first answer to ``invitation`` in one statement; None when it already has a response."""
    from responses import capture_pg

    response = _new_response(survey=survey, value=value, invitation=invitation,
                             person=person or invitation.person, comment=comment, channel=channel,
                             properties=properties, locale=locale, suspected_bot=False, bot_reason="", now=now,
                             complete=complete)
    return capture_pg.first_answer(response=response, capture=invitation.capture, answers=answers, now=now)


def record_response(*, survey: Survey, score: Any, invitation: Invitation | None = None,
                    person: Person | None = None, comment: str | None = None, channel: str = Channel.EMAIL,
                    properties: dict[str, Any] | None = None, locale: str = "",
                    suspected_bot: bool = False, bot_reason: str = "", automatic: bool = False) -> Response:
    """Record a score (and optional comment); one Response per invitation, later calls update it.

    Without an invitation (link, widget, API) every call creates a fresh response. Updates the
    rollups and emits ``response.created`` / ``response.updated`` in this transaction. A call
    that is neither suspected nor ``automatic`` (the score page's own timed post) confirms a
    response an earlier post left suspected. A first answer through a capture door (PostgreSQL) is
    one statement (``capture_pg``).
    """
    value = validate_score(survey, score)
    comment = clean_comment(comment)
    properties = clean_properties(properties)
    now = timezone.now()
    first_tried = False
    if not suspected_bot and _one_statement_possible(invitation):
        response = _first_answer_in_one_statement(
            survey=survey, value=value, invitation=invitation, person=person, comment=comment, channel=channel,
            properties=properties, locale=locale, now=now, complete=False, answers={})
        if response is not None:
            return response
        first_tried = True  # the invitation has a response: update it
    with transaction.atomic():
        return _record(survey=survey, value=value, invitation=invitation, person=person, comment=comment,
                       channel=channel, properties=properties, locale=locale, suspected_bot=suspected_bot,
                       bot_reason=bot_reason, automatic=automatic, now=now, first_tried=first_tried)


def _record(*, survey: Survey, value: int, invitation: Invitation | None, person: Person | None,
            comment: str | None, channel: str, properties: dict[str, Any], locale: str, suspected_bot: bool,
            bot_reason: str, automatic: bool, now: Any, first_tried: bool) -> Response:
    """``record_response`` in a transaction: the first answer without a lock, else the locked update."""
    existing, write = None, None
    if invitation is not None:
        person = person or invitation.person
        if not first_tried:
            write = _insert_first(survey=survey, value=value, invitation=invitation, person=person,
                                  comment=comment, properties=properties, locale=locale,
                                  suspected_bot=suspected_bot, bot_reason=bot_reason, now=now)
        if write is None:
            existing = _locked_response(invitation)
    if write is None:
        write = _write_score(survey=survey, value=value, invitation=invitation, existing=existing, person=person,
                             comment=comment, channel=channel, properties=properties, locale=locale,
                             suspected_bot=suspected_bot, bot_reason=bot_reason, automatic=automatic, now=now)
    _finish(write, now=now)
    return write.response


def _answer_error(question: Question, message: str) -> ValidationError:
    return ValidationError({f"q{question.pk}": message})


def clean_answer(question: Question, raw: Any) -> tuple[Any, str] | None:
    """Validate one answer; returns (value, other text), or None when left empty."""
    other = ""
    if isinstance(raw, dict):
        other = raw.get("other") or ""
        raw = raw.get("value")
    if not isinstance(other, str) or len(other) > MAX_OTHER_TEXT:
        raise _answer_error(question, _("Please keep this under %(max)d characters.") % {"max": MAX_OTHER_TEXT})
    other = other.strip()
    kind = question.kind
    if raw in (None, "", []):
        return None
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        values = raw if isinstance(raw, list) else [raw]
        if kind == Question.Kind.SINGLE and len(values) != 1:
            raise _answer_error(question, _("Choose one answer."))
        allowed = [str(c) for c in question.choices] + ([OTHER] if question.allow_other else [])
        if any(not isinstance(v, str) or v not in allowed for v in values):
            raise _answer_error(question, _("Choose one of the answers offered."))
        if OTHER in values and not other:
            raise _answer_error(question, _('Please say what "other" means for you.'))
        if OTHER not in values:
            other = ""
        deduped = list(dict.fromkeys(values))
        return (deduped[0] if kind == Question.Kind.SINGLE else deduped), other
    if kind == Question.Kind.SCALE:
        try:
            number = int(str(raw))
        except ValueError:
            raise _answer_error(question, _("Choose a number.")) from None
        if not question.scale_min <= number <= question.scale_max:
            raise _answer_error(question, _("Choose a number between %(min)d and %(max)d.")
                                % {"min": question.scale_min, "max": question.scale_max})
        return number, ""
    if kind == Question.Kind.YES_NO:
        mapping = {True: True, False: False, "yes": True, "no": False, "true": True, "false": False}
        key = raw.lower() if isinstance(raw, str) else raw
        if key not in mapping:
            raise _answer_error(question, _("Answer yes or no."))
        return mapping[key], ""
    if not isinstance(raw, str):
        raise _answer_error(question, _("The answer must be text."))
    text = raw.strip()
    limit = 254 if kind == Question.Kind.EMAIL else 255 if kind == Question.Kind.NAME else MAX_TEXT_ANSWER
    if len(text) > limit:
        raise _answer_error(question, _("Please keep this under %(max)d characters.") % {"max": limit})
    if kind == Question.Kind.EMAIL and text:
        try:
            validate_email(text)
        except ValidationError:
            raise _answer_error(question, _("Enter a valid email address.")) from None
    return (text, "") if text else None


def _clean_answers(*, survey: Survey, group: str, answers: dict[Any, Any], answered: set[int],
                   complete: bool) -> tuple[dict[int, tuple[Any, str] | None], dict[str, str]]:
    """Validate answers for a score group; ``answered``: questions that already have an answer."""
    questions = {q.pk: q for q in survey_questions(survey)}
    cleaned: dict[int, tuple[Any, str] | None] = {}
    errors: dict[str, str] = {}
    for key, raw in (answers or {}).items():
        try:
            qid = int(str(key).removeprefix("q"))
        except ValueError:
            errors[str(key)] = _("Unknown question.")
            continue
        question = questions.get(qid)
        if question is None or not question.shown_to(group):
            errors[f"q{qid}"] = _("This question is not asked for this score.")
            continue
        try:
            cleaned[qid] = clean_answer(question, raw)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if complete:
        for question in questions.values():
            name = f"q{question.pk}"
            if not question.required or not question.shown_to(group) or name in errors:
                continue
            if (question.pk in cleaned and cleaned[question.pk] is None) or (
                    question.pk not in cleaned and question.pk not in answered):
                errors[name] = _("Please answer this question.")
    return cleaned, errors


def _apply_answers(*, response: Response, cleaned: dict[int, tuple[Any, str] | None],
                   existing: dict[int, Answer], now: Any) -> bool:
    """Write the cleaned answers; returns whether anything changed."""
    changed = False
    new = []
    for qid, result in cleaned.items():
        answer = existing.get(qid)
        if result is None:
            if answer is not None:
                answer.delete()
                changed = True
            continue
        value, other = result
        if answer is None:
            new.append(Answer(account=response.account, response=response, question_id=qid, value=value,
                              other_text=other, updated_at=now))
        elif (answer.value, answer.other_text) != (value, other):
            answer.value, answer.other_text, answer.updated_at = value, other, now
            answer.save(update_fields=["value", "other_text", "updated_at"])
            changed = True
    if new:
        sql.save_new(new)
        changed = True
    return changed


@transaction.atomic
def record_answers(*, response: Response, answers: dict[Any, Any], comment: str | None = None,
                   complete: bool = True) -> Response:
    """Store the answers to the extra questions shown to the response's score group.

    ``answers`` maps question ids to a value (a choice, a list of choices, a number, yes/no, text)
    or to ``{"value": ..., "other": "free text"}``. An empty value clears the answer. Questions the
    group is not asked, unknown questions and invalid values raise ``ValidationError`` naming the
    field ``q<id>``; nothing is written then. Only inside the account's edit window.
    """
    now = timezone.now()
    # Lock the row: a double submit waits here and sees the first one's answers.
    response = Response.objects.select_for_update().select_related("survey", "account").get(pk=response.pk)
    check_edit_window(response, now)
    existing = {a.question_id: a for a in Answer.objects.filter(response=response)}
    cleaned, errors = _clean_answers(survey=response.survey, group=response.survey.group_of(response.score),
                                     answers=answers, answered=set(existing), complete=complete)
    if comment is not None:
        try:
            comment = clean_comment(comment)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    answers_changed = _apply_answers(response=response, cleaned=cleaned, existing=existing, now=now)
    before = copy.copy(response)
    if comment is not None:
        response.comment = comment
    if response.suspected_bot:  # answering the questions is a human action: count it
        response.suspected_bot, response.bot_reason = False, ""
    if complete and response.completed_at is None:
        response.completed_at = now
    changed = answers_changed or any(getattr(before, f) != getattr(response, f)
                                     for f in ("comment", "suspected_bot", "completed_at"))
    if changed:
        response.updated_at = now
        response.save()
    _finish(_Write(response=response, before=before, changed=changed), now=now)
    return response


@transaction.atomic
def flag_suspected_bot(*, invitation: Invitation, reason: str) -> Response | None:
    """Flag the invitation's response as scanner traffic unless a person already confirmed it.

    Kept and shown to admins, left out of rollups (D5). A response with a comment or completed
    answers was a human: it stays counted.
    """
    response = Response.objects.select_for_update().filter(invitation=invitation).first()
    if response is None or response.suspected_bot or response.comment or response.completed_at:
        return response
    response.account = invitation.account
    before = copy.copy(response)
    response.suspected_bot, response.bot_reason, response.updated_at = True, reason[:100], timezone.now()
    response.save(update_fields=["suspected_bot", "bot_reason", "updated_at"])
    rollups.record_change(account=invitation.account, before=before, after=response)
    emit_event(invitation.account, "response.updated", {"response_id": response.pk})
    return response


@transaction.atomic
def record_widget_response(*, survey: Survey, score: Any, email: str | None, external_id: str | None,
                           comment: str | None = None, properties: dict[str, Any] | None = None,
                           locale: str = "") -> Response:
    """A web-widget answer from a signed-in user of the customer's app (channel ``widget``)."""
    from surveys.services import upsert_person

    props = clean_properties(properties)
    person = None
    if email:
        person, _created = upsert_person(account=survey.account, email=email)
    if external_id:
        props["user_id"] = str(external_id)[:MAX_PROPERTY_VALUE]
    response = record_response(survey=survey, score=score, person=person, comment=comment, channel=Channel.WIDGET,
                               properties=props, locale=locale)
    if person is not None:
        Person.objects.filter(pk=person.pk).update(last_surveyed_at=timezone.now())
    return response


def dismiss_widget(*, survey: Survey, email: str) -> None:
    """The user closed the widget without answering: count it as surveyed for the throttle."""
    survey.account.people.filter(email__iexact=email).update(last_surveyed_at=timezone.now())


def widget_should_show(*, survey: Survey, email: str | None) -> bool:
    """Whether the widget may ask this user now: active survey, and the account's throttle window."""
    if survey.status != Survey.Status.ACTIVE:
        return False
    if not email:
        return True
    person = survey.account.people.filter(email__iexact=email).only("last_surveyed_at", "last_responded_at").first()
    if person is None:
        return True
    since = timezone.now() - timedelta(days=survey.account.throttle_days)
    return all(moment is None or moment < since for moment in (person.last_surveyed_at, person.last_responded_at))


def survey_for_public_id(public_id: str) -> Survey:
    """The survey a link-survey or widget URL names: the public-id door into the tenant scope.

    The caller enters ``account_scope(survey.account)``. Unknown: ``LinkUnknown``; paused or
    archived: ``LinkGone``.
    """
    if not public_id or len(public_id) > 32:
        raise LinkUnknown
    with cross_account():  # the public id is the door: nothing names the account before it
        survey = Survey.objects.select_related("account").filter(public_id=public_id).first()
    if survey is None:
        raise LinkUnknown
    if survey.status != Survey.Status.ACTIVE:
        raise LinkGone
    return survey



def _collect(errors: dict[str, Any], clean: Any, *args: Any) -> Any:
    """Run one validator; on failure add its messages to ``errors`` and return None."""
    try:
        return clean(*args)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
        return None


def submit_response(*, survey: Survey, score: Any, invitation: Invitation | None = None, comment: str | None = None,
                    answers: dict[Any, Any] | None = None, channel: str = Channel.EMAIL,
                    properties: dict[str, Any] | None = None, locale: str = "") -> Response:
    """The respondent's submit: score, comment and answers together, all or nothing.

    With an invitation it updates that invitation's one response; without, it creates a fresh one.
    Everything is validated before anything is written; the response row is written once, then
    the answers, the event and the rollup. A first answer through a capture door (PostgreSQL) is one
    statement (``capture_pg``); everything else one transaction.
    """
    errors: dict[str, Any] = {}
    value = _collect(errors, validate_score, survey, score)
    comment = _collect(errors, clean_comment, comment)
    properties = _collect(errors, clean_properties, properties) or {}
    now = timezone.now()
    first_tried = False
    if value is not None and not errors and _one_statement_possible(invitation):
        cleaned, answer_errors = _clean_answers(survey=survey, group=survey.group_of(value), answers=answers or {},
                                                answered=set(), complete=True)
        if not answer_errors:
            response = _first_answer_in_one_statement(
                survey=survey, value=value, invitation=invitation, person=None, comment=comment, channel=channel,
                properties=properties, locale=locale, now=now, complete=True, answers=cleaned)
            if response is not None:
                return response
            first_tried = True  # the invitation has a response: update it
    with transaction.atomic():
        return _submit(survey=survey, value=value, errors=errors, invitation=invitation, comment=comment,
                       answers=answers, channel=channel, properties=properties, locale=locale, now=now,
                       first_tried=first_tried)


def _submit(*, survey: Survey, value: int | None, errors: dict[str, Any], invitation: Invitation | None,
            comment: str | None, answers: dict[Any, Any] | None, channel: str, properties: dict[str, Any],
            locale: str, now: Any, first_tried: bool) -> Response:
    """``submit_response`` in a transaction: the first answer without a lock, else the locked update."""
    if invitation is not None and value is not None and not errors and not first_tried:
        cleaned, answer_errors = _clean_answers(survey=survey, group=survey.group_of(value), answers=answers or {},
                                                answered=set(), complete=True)
        write = None if answer_errors else _insert_first(
            survey=survey, value=value, invitation=invitation, person=invitation.person, comment=comment,
            properties=properties, locale=locale, suspected_bot=False, bot_reason="", now=now, complete=True,
            answers=cleaned)
        if write is not None:  # the first answer: no lock, no earlier answers to compare with
            if not write.side_effects_done:
                _apply_answers(response=write.response, cleaned=cleaned, existing={}, now=now)
            _finish(write, now=now)
            return write.response
    existing, answered = None, {}
    if invitation is not None:
        existing = _locked_response(invitation)
        if existing is not None:
            existing.account = survey.account
            answered = {a.question_id: a for a in Answer.objects.filter(response=existing)}
    if value is None:
        raise ValidationError(errors)
    cleaned, answer_errors = _clean_answers(survey=survey, group=survey.group_of(value), answers=answers or {},
                                            answered=set(answered), complete=True)
    errors.update(answer_errors)
    if errors:
        raise ValidationError(errors)
    write = _write_score(survey=survey, value=value, invitation=invitation, existing=existing,
                         person=invitation.person if invitation else None, comment=comment,
                         channel=channel, properties=properties, locale=locale,
                         suspected_bot=False, bot_reason="", automatic=False, now=now, complete=True)
    if _apply_answers(response=write.response, cleaned=cleaned, existing=answered, now=now) and not write.changed:
        write.response.updated_at = now
        write.response.save(update_fields=["updated_at"])
        write.changed = True
    _finish(write, now=now)
    return write.response
