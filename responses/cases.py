"""Follow-up cases: opening them (rules, routing, SLA, holdout), working them, escalating overdue ones.

Every write and rule of the close-the-loop feature lives here; reads for pages and the experiment
report live in ``responses/case_selectors.py``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from smtplib import SMTPException
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import sql
from accounts.events import Event, emit_event, publish_on_commit
from accounts.models import Account, Membership, Role
from accounts.scoping import account_scope
from responses import followups
from responses.models import Case, CaseEvent, CaseRule, CaseSettings, Response, ResponseNote, RoutingRule
from surveys.models import ScoreGroup

logger = logging.getLogger("verbatim")

MAX_TAGS = 20
MAX_TAG = 40
MAX_NOTE = 5000
MAX_HOLDOUT_PERCENT = 50
TEAM_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)


# --- settings and rules ----------------------------------------------------------------------------

def case_settings(account: Account) -> CaseSettings:
    """The account's case settings; the first call creates them with the default "every detractor" rule."""
    settings_row, created = CaseSettings.objects.get_or_create(
        account=account, defaults={"holdout_seed": secrets.token_hex(8)})
    if created:
        CaseRule.objects.create(account=account, name=_("Every detractor"), score_groups=[ScoreGroup.DETRACTOR])
    return settings_row


def read_case_settings(account: Account) -> CaseSettings:
    """The account's case settings for a page (GET never writes): the stored row, or the defaults unsaved.

    Accounts get their row and default rule at setup (``set_up_cases``) or from the data migration;
    an account without one simply has no rules yet, shown as such.
    """
    row = CaseSettings.objects.filter(account=account).first()
    return row if row is not None else CaseSettings(account=account)


def set_up_cases(account: Account) -> None:
    """Account setup hook: new accounts start with the default case rule (hooks run outside any scope)."""
    with account_scope(account):
        case_settings(account)


@transaction.atomic
def update_case_settings(*, account: Account, **values: Any) -> CaseSettings:
    """Change SLA, business hours, escalation delay or the holdout share (0..50 %)."""
    row = case_settings(account)
    holdout = values.get("holdout_percent", row.holdout_percent)
    if not 0 <= int(holdout) <= MAX_HOLDOUT_PERCENT:
        raise ValidationError({"holdout_percent": _("Hold out between 0 and %(max)d %% of detractor cases.")
                               % {"max": MAX_HOLDOUT_PERCENT}})
    days = values.get("business_days", row.business_days)
    if any(int(d) not in range(1, 8) for d in days):
        raise ValidationError({"business_days": _("Days are 1 (Monday) to 7 (Sunday).")})
    start, end = values.get("business_start", row.business_start), values.get("business_end", row.business_end)
    if start >= end:
        raise ValidationError({"business_end": _("Business hours must end after they start.")})
    for field, value in values.items():
        setattr(row, field, value)
    row.save()
    return row


@transaction.atomic
def create_case_rule(*, account: Account, name: str, score_groups: Iterable[str] = (), survey: Any = None,
                     property_name: str = "", property_value: str = "", requires_comment: bool = False) -> CaseRule:
    """Add a rule that opens a case for matching responses."""
    case_settings(account)  # so the default rule is not added later on top of this one
    groups = [g for g in score_groups if g]
    if any(g not in ScoreGroup.values for g in groups):
        raise ValidationError({"score_groups": _("Unknown score group.")})
    if survey is not None and survey.account_id != account.pk:
        raise ValidationError({"survey": _("Unknown survey.")})
    if bool(property_name.strip()) != bool(property_value.strip()):
        raise ValidationError({"property_value": _("Give both the property name and its value.")})
    if not name.strip():
        raise ValidationError({"name": _("Give the rule a name.")})
    return CaseRule.objects.create(account=account, name=name.strip(), score_groups=groups, survey=survey,
                                   property_name=property_name.strip(), property_value=property_value.strip(),
                                   requires_comment=requires_comment)


def delete_case_rule(*, rule: CaseRule) -> None:
    rule.delete()


def _team_member(account: Account, user: Any) -> Any:
    if user is None:
        return None
    if not Membership.objects.filter(account=account, user=user, role__in=TEAM_ROLES).exists():
        raise ValidationError({"assignee": _("Choose a member of this account.")})
    return user


@transaction.atomic
def create_routing_rule(*, account: Account, property_name: str, property_value: str, assignee: Any = None,
                        assignee_email: str = "") -> RoutingRule:
    """Route cases whose response has ``property_name == property_value`` to a member or an address."""
    if not property_name.strip() or not property_value.strip():
        raise ValidationError({"property_value": _("Give both the property name and its value.")})
    if (assignee is None) == (not assignee_email):
        raise ValidationError({"assignee": _("Choose a member or enter an email address, not both.")})
    if assignee_email:
        validate_email(assignee_email)
    return RoutingRule.objects.create(account=account, property_name=property_name.strip(),
                                      property_value=property_value.strip(),
                                      assignee=_team_member(account, assignee), assignee_email=assignee_email)


def delete_routing_rule(*, rule: RoutingRule) -> None:
    rule.delete()


# --- opening a case --------------------------------------------------------------------------------

def _properties(response: Response) -> dict[str, Any]:
    person_props = response.person.properties if response.person_id and response.person else {}
    return {**(person_props or {}), **(response.properties or {})}


def _same(value: Any, wanted: str) -> bool:
    return value is not None and str(value).strip().casefold() == wanted.strip().casefold()


def rule_matches(rule: CaseRule, response: Response, group: str) -> bool:
    """Whether a response satisfies every condition of the rule."""
    if rule.score_groups and group not in rule.score_groups:
        return False
    if rule.survey_id and rule.survey_id != response.survey_id:
        return False
    if rule.requires_comment and not response.comment.strip():
        return False
    return not rule.property_name or _same(_properties(response).get(rule.property_name), rule.property_value)


def route_case(*, account: Account, response: Response, settings_row: CaseSettings,
               context: CaseContext | None = None) -> tuple[Any, str]:
    """(assignee user, assignee email): the first routing rule whose property matches, else round-robin
    among the team (owners, admins and members, by user id)."""
    context = context or case_context(account)
    props = _properties(response)
    for rule in context.routing_rules:
        if _same(props.get(rule.property_name), rule.property_value):
            return rule.assignee, rule.assignee_email
    if not context.team:
        return None, ""
    return context.team[_next_turn(account, settings_row) % len(context.team)], ""


def _next_turn(account: Account, settings_row: CaseSettings) -> int:
    """The round-robin cursor, advanced by one. A counter in the cache (Redis), so concurrent answers
    never queue on a row lock for it; seeded from the stored cursor, and the key carries the settings'
    random seed so a reused account id never inherits an old counter. Without the cache: the row lock."""
    key = f"cases:rr:{account.pk}:{settings_row.holdout_seed}"
    try:
        cache.add(key, settings_row.round_robin_cursor, timeout=None)
        return cache.incr(key) - 1
    except Exception:  # cache down (or the key evicted between add and incr): the database keeps the turn
        logger.warning("round-robin counter unavailable; using the settings row lock", exc_info=True)
    row = CaseSettings.objects.select_for_update().get(pk=settings_row.pk)
    CaseSettings.objects.filter(pk=row.pk).update(round_robin_cursor=row.round_robin_cursor + 1)
    return row.round_robin_cursor


def _in_hours(local: datetime, settings_row: CaseSettings) -> bool:
    return (local.isoweekday() in settings_row.weekdays
            and settings_row.business_start <= local.time().replace(tzinfo=None) < settings_row.business_end)


def _at(day: Any, moment: Any, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


def add_business_minutes(*, start: datetime, minutes: int, settings_row: CaseSettings,
                         tz: zoneinfo.ZoneInfo) -> datetime:
    """``start`` plus ``minutes`` of business time (business days and hours in the account's zone).

    Arithmetic is done in UTC so a daylight-saving change inside a window counts real minutes.
    """
    current = start.astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    for _step in range(800):  # at most ~2 years of business days: a safe bound for any SLA
        local = current.astimezone(tz)
        if _in_hours(local, settings_row):
            window_end = _at(local.date(), settings_row.business_end, tz)
            if current + remaining <= window_end:
                return current + remaining
            remaining -= window_end - current
        day = local.date() if local.time().replace(tzinfo=None) < settings_row.business_start else (
            local.date() + timedelta(days=1))
        while day.isoweekday() not in settings_row.weekdays:
            day += timedelta(days=1)
        current = _at(day, settings_row.business_start, tz)
    return current + remaining


def compute_due_at(*, account: Account, settings_row: CaseSettings, group: str, start: datetime) -> datetime:
    """The SLA: a detractor is due ``detractor_sla_minutes`` of business time after it arrives; one arriving
    outside business hours is therefore due that many minutes after business hours next open (a Saturday
    detractor is due Monday 09:05, not Sunday). Other groups get ``other_sla_hours`` of wall-clock time."""
    if group == ScoreGroup.DETRACTOR:
        return add_business_minutes(start=start, minutes=settings_row.detractor_sla_minutes,
                                    settings_row=settings_row, tz=account.tz)
    return start + timedelta(hours=settings_row.other_sla_hours)


def holdout_draw(*, seed: str, response_id: int, percent: int) -> bool:
    """Whether this response's case is held out: a keyed hash of the response id, uniform on 0..9999.

    Reproducible (the seed is stored per account), independent of the score by construction, and
    not guessable by anyone without the seed.
    """
    if percent <= 0:
        return False
    digest = hmac.new(seed.encode(), str(response_id).encode(), hashlib.sha256).hexdigest()
    return int(digest[:8], 16) % 10000 < percent * 100


@dataclass
class CaseContext:
    """What opening a case reads: the settings row (None before first use), active rules, routing rules
    and the team, in rule / id order."""

    settings_row: CaseSettings | None
    rules: list[CaseRule]
    routing_rules: list[RoutingRule]
    team: list[Any]


def context_from_json(settings_json: dict[str, Any] | None, rules: list[dict[str, Any]] | None,
                      routes: list[dict[str, Any]] | None, team: list[dict[str, Any]] | None) -> CaseContext:
    """A ``CaseContext`` from the four JSON columns of ``context_columns_sql`` (PostgreSQL)."""
    user_model = get_user_model()
    return CaseContext(
        settings_row=sql.from_json(CaseSettings, settings_json) if settings_json else None,
        rules=[sql.from_json(CaseRule, r) for r in rules or []],
        routing_rules=[sql.from_json(RoutingRule, r) for r in routes or []],
        team=[sql.from_json(user_model, u) for u in team or []])


def context_columns_sql(account_column: str) -> str:
    """PostgreSQL: the four JSON columns ``context_from_json`` reads, for the account in
    ``account_column`` (the respondent's door query selects them with the invitation)."""
    user_model = get_user_model()
    users, memberships = sql.quote(user_model._meta.db_table), sql.quote(Membership._meta.db_table)
    roles = ", ".join(f"'{role}'" for role in TEAM_ROLES)  # constants of ours, not input
    return (f"(SELECT row_to_json(cs) FROM responses_casesettings cs WHERE cs.account_id = {account_column}), "  # noqa: S608 (model metadata)
            "(SELECT json_agg(r ORDER BY r.created_at, r.id) FROM responses_caserule r "
            f" WHERE r.account_id = {account_column} AND r.active), "
            "(SELECT json_agg(rr ORDER BY rr.id) FROM responses_routingrule rr "
            f" WHERE rr.account_id = {account_column}), "
            "(SELECT json_agg(json_build_object('id', u.id, 'email', u.email, 'username', u.username) ORDER BY u.id) "
            f"FROM {users} u JOIN {memberships} m ON m.user_id = u.id "
            f"WHERE m.account_id = {account_column} AND m.role IN ({roles}) AND u.is_active)")


def case_context(account: Account) -> CaseContext:
    """Everything ``open_case_for_response`` reads, in one statement on PostgreSQL (it runs in every
    respondent's transaction; hand-written SQL, ``accounts/sql.py``), four elsewhere."""
    if sql.connection.vendor == "postgresql":
        with sql.connection.cursor() as cursor:
            cursor.execute(f"SELECT {context_columns_sql('%s')}", [account.pk] * 4)
            return context_from_json(*cursor.fetchone())
    user_model = get_user_model()
    users, memberships = sql.quote(user_model._meta.db_table), sql.quote(Membership._meta.db_table)
    roles = ", ".join(["%s"] * len(TEAM_ROLES))
    team_sql = (f"FROM {users} u JOIN {memberships} m ON m.user_id = u.id "
                f"WHERE m.account_id = %s AND m.role IN ({roles}) AND u.is_active")
    rows = sql.fetch_instances(CaseSettings, f"SELECT {sql.select_list(CaseSettings, 'cs')} "  # noqa: S608 (model metadata)
                                             "FROM responses_casesettings cs WHERE cs.account_id = %s", [account.pk])
    return CaseContext(
        settings_row=rows[0] if rows else None,
        rules=sql.fetch_instances(CaseRule, f"SELECT {sql.select_list(CaseRule, 'r')} "  # noqa: S608 (model metadata)
                                            "FROM responses_caserule r WHERE r.account_id = %s AND r.active "
                                            "ORDER BY r.created_at, r.id", [account.pk]),
        routing_rules=sql.fetch_instances(RoutingRule, f"SELECT {sql.select_list(RoutingRule, 'rr')} "  # noqa: S608 (model metadata)
                                                       "FROM responses_routingrule rr WHERE rr.account_id = %s "
                                                       "ORDER BY rr.id", [account.pk]),
        team=sql.fetch_instances(user_model, f"SELECT {sql.select_list(user_model, 'u')} {team_sql} "  # noqa: S608 (model metadata)
                                             "ORDER BY u.id", [account.pk, *TEAM_ROLES]))


def open_case_for_response(*, response: Response, now: datetime | None = None, created: bool = False) -> Case | None:
    """Open a case if a rule matches and the response has none yet (called in the response's transaction).

    Detractor cases of an account running a holdout experiment are randomly held out: recorded,
    never assigned, hidden from the inbox. Emits ``case.created``. ``created``: the response is new in
    this transaction (so it cannot have a case yet). On the respondent's hot path: hand-written SQL.
    """
    if response.suspected_bot:
        return None
    # The follow-up email to promoters/passives hangs off the same per-response hook (responses.services
    # calls this for every created or changed response); it writes at most one FollowUp row.
    followups.schedule_follow_up(response=response, now=now, created=created)
    if not created and Case.objects.filter(response=response).exists():
        return None
    now = now or timezone.now()
    context = case_context(response.account)
    if context.settings_row is None:
        case_settings(response.account)  # first use: create the settings and the default rule
        context = case_context(response.account)
    planned = plan_case(response=response, context=context, now=now)
    if planned is None:
        return None
    case, opened, payload = planned.case, planned.opened, planned.payload
    account = response.account
    if sql.connection.vendor == "postgresql":
        _insert_case_pg(case, opened, payload, now)
        return case
    sql.save_new([case])
    sql.save_new([CaseEvent(account=account, case=case, kind="opened", created_at=now, data=opened)])
    emit_event(account, "case.created", {"case_id": case.pk, **payload})
    return case


@dataclass
class PlannedCase:
    """A case to open: the row, its "opened" history data and the ``case.created`` payload."""

    case: Case
    opened: dict[str, Any]
    payload: dict[str, Any]


def plan_case(*, response: Response, context: CaseContext, now: datetime) -> PlannedCase | None:
    """The case a new or changed response opens under ``context`` (its settings row must exist), or None
    when no rule matches. Writes nothing, but takes a round-robin turn when it assigns by turn."""
    account = response.account
    group = response.survey.group_of(response.score)
    rule = next((r for r in context.rules if rule_matches(r, response, group)), None)
    if rule is None:
        return None
    settings_row = context.settings_row
    experiment = settings_row.holdout_percent > 0 and group == ScoreGroup.DETRACTOR
    holdout = experiment and holdout_draw(seed=settings_row.holdout_seed, response_id=response.pk,
                                          percent=settings_row.holdout_percent)
    assignee, email, due_at = None, "", None
    if not holdout:
        assignee, email = route_case(account=account, response=response, settings_row=settings_row, context=context)
        due_at = compute_due_at(account=account, settings_row=settings_row, group=group, start=response.created_at)
    case = Case(account=account, response=response, person_id=response.person_id, rule=rule, group=group,
                assignee=assignee, assignee_email=email, due_at=due_at, experiment=experiment, holdout=holdout,
                created_at=now, updated_at=now)
    opened = {"rule": rule.name, "assignee": case.assignee_label, "due_at": due_at.isoformat() if due_at else None,
              "holdout": holdout}
    payload = {"response_id": response.pk, "group": group, "holdout": holdout,
               "due_at": due_at.isoformat() if due_at else None}
    return PlannedCase(case=case, opened=opened, payload=payload)


def _insert_case_pg(case: Case, opened: dict[str, Any], payload: dict[str, Any], now: datetime) -> None:
    """PostgreSQL: the case, its "opened" history row and the ``case.created`` event in one statement."""
    row = sql.row_values(case)
    cols = ", ".join(sql.quote(Case._meta.get_field(a).column) for a in row)
    params = [sql.prep(Case, a, v) for a, v in row.items()]
    params += [case.account_id, sql.prep(CaseEvent, "data", opened), sql.prep(CaseEvent, "created_at", now),
               case.account_id, sql.prep(Event, "payload", payload), sql.prep(Event, "created_at", now)]
    with sql.connection.cursor() as cursor:
        cursor.execute(
            f"WITH c AS (INSERT INTO responses_case ({cols}) VALUES ({', '.join(['%s'] * len(row))}) "  # noqa: S608 (model metadata)
            "RETURNING id), "
            "h AS (INSERT INTO responses_caseevent (account_id, case_id, kind, data, created_at) "
            "SELECT %s, c.id, 'opened', %s, %s FROM c), "
            "ev AS (INSERT INTO accounts_event (account_id, kind, payload, status, attempts, created_at) "
            "SELECT %s, 'case.created', jsonb_build_object('case_id', c.id) || %s::jsonb, 'pending', 0, %s "
            "FROM c RETURNING id) "
            "SELECT c.id, ev.id FROM c, ev", params)
        case_id, event_id = cursor.fetchone()
    sql.mark_saved(case, case_id)
    publish_on_commit(case.account_id, event_id)


# --- working a case --------------------------------------------------------------------------------

def _record(case: Case, kind: str, by: Any, **data: Any) -> CaseEvent:
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(updated_at=now)
    return CaseEvent.objects.create(account=case.account, case=case, kind=kind, by=by, data=data, created_at=now)


@transaction.atomic
def change_case_status(*, case: Case, status: str, by: Any, channel: str = "") -> Case:
    """Mark a case contacted, resolved, won't fix or open again (with the channel of contact)."""
    if status not in Case.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if channel not in Case.ContactChannel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    case = Case.objects.select_for_update().get(pk=case.pk)
    before, before_channel = case.status, case.contact_channel
    now = timezone.now()
    case.status = status
    if channel:
        case.contact_channel = channel
    if status != Case.Status.OPEN and case.contacted_at is None:
        case.contacted_at = now
    case.closed_at = now if status in (Case.Status.RESOLVED, Case.Status.WONT_FIX) else None
    if (before, before_channel) == (case.status, case.contact_channel):
        return case
    case.updated_at = now
    case.save()
    _record(case, "status", by, **{"from": before, "to": status, "channel": case.contact_channel})
    return case


@transaction.atomic
def assign_case(*, case: Case, by: Any, assignee: Any = None, assignee_email: str = "") -> Case:
    """Give the case to a member or an email address (neither: unassigned)."""
    if assignee is not None and assignee_email:
        raise ValidationError({"assignee": _("Choose a member or enter an email address, not both.")})
    if assignee_email:
        validate_email(assignee_email)
    assignee = _team_member(case.account, assignee)
    case = Case.objects.select_for_update().get(pk=case.pk)
    before = case.assignee_label
    case.assignee, case.assignee_email = assignee, assignee_email
    if case.assignee_label == before:
        return case
    case.escalation_level = 0 if case.escalation_level == 1 else case.escalation_level  # alert the new owner
    case.save()
    _record(case, "assigned", by, **{"from": before, "to": case.assignee_label})
    return case


@transaction.atomic
def add_response_note(*, response: Response, body: str, by: Any, kind: str = ResponseNote.Kind.NOTE) -> ResponseNote:
    """A note on a response; on its case's history too when it has one."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write a note first.")})
    if len(body) > MAX_NOTE:
        raise ValidationError({"body": _("Please keep the note under %(max)d characters.") % {"max": MAX_NOTE}})
    case = Case.objects.filter(response=response).first()
    note = ResponseNote.objects.create(account=response.account, response=response, case=case, author=by,
                                       kind=kind, body=body)
    if case is not None:
        _record(case, "note" if kind == ResponseNote.Kind.NOTE else "reply", by, note_id=note.pk)
    return note


def clean_tags(tags: Any) -> list[str]:
    """Tags from a comma-separated string or a list: trimmed, lower-cased, unique, at most 20 of 40 chars."""
    if isinstance(tags, str):
        tags = tags.split(",")
    clean = list(dict.fromkeys(str(t).strip().lower() for t in tags or [] if str(t).strip()))
    if len(clean) > MAX_TAGS or any(len(t) > MAX_TAG for t in clean):
        raise ValidationError({"tags": _("At most %(n)d tags of %(len)d characters.") % {"n": MAX_TAGS,
                                                                                       "len": MAX_TAG}})
    return clean


@transaction.atomic
def set_response_tags(*, response: Response, tags: Any, by: Any) -> Response:
    """Replace a response's tags (a case's tags are its response's, so reports see one list)."""
    clean = clean_tags(tags)
    response = Response.objects.select_for_update().select_related("account").get(pk=response.pk)
    before = list(response.tags or [])
    if before == clean:
        return response
    response.tags, response.updated_at = clean, timezone.now()
    response.save(update_fields=["tags", "updated_at"])
    case = Case.objects.filter(response=response).first()
    if case is not None:
        _record(case, "tags", by, **{"from": before, "to": clean})
    return response


def reply_to_case(*, case: Case, subject: str, body: str, by: Any) -> ResponseNote:
    """Email the person through Verbatim (replies go to the sender), record it and mark the case contacted.

    The mail is sent before the transaction (no network inside it): a failed send records nothing.
    """
    person = case.person
    if person is None or not person.email:
        raise ValidationError({"body": _("This person has no email address.")})
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise ValidationError({"subject": _("Write a subject.")})
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    reply_to = [by.email] if getattr(by, "email", "") else []
    try:
        EmailMessage(subject=subject, body=body, from_email=case.account.from_email, to=[person.email],
                     reply_to=reply_to).send()
    except (SMTPException, OSError):
        logger.warning("case %s: reply could not be sent", case.pk, exc_info=True)
        raise ValidationError({"body": _("The email could not be sent; nothing was recorded. Try again.")}) from None
    with transaction.atomic():
        note = add_response_note(response=case.response, body=f"{subject}\n\n{body}", by=by,
                                 kind=ResponseNote.Kind.EMAIL)
        if case.status == Case.Status.OPEN:
            change_case_status(case=case, status=Case.Status.CONTACTED, by=by, channel=Case.ContactChannel.EMAIL)
    return note


# --- escalation ------------------------------------------------------------------------------------

def admin_addresses(account: Account) -> list[str]:
    return sorted({m.user.email for m in Membership.objects.filter(account=account, role__in=(Role.OWNER, Role.ADMIN))
                   .select_related("user") if m.user.email})


def _send_overdue_alert(case: Case, to: list[str], *, admins: bool) -> None:
    url = case.get_absolute_url()
    due = timezone.localtime(case.due_at, case.account.tz).strftime("%Y-%m-%d %H:%M")
    intro = (_("A follow-up case assigned to %(who)s is overdue.") % {"who": case.assignee_label or _("nobody")}
             if admins else _("A follow-up case assigned to you is overdue."))
    score = _("Score: %(score)d (%(group)s)") % {"score": case.response.score, "group": case.group}
    body = "\n".join([intro, "", score,
                      _("Due: %(due)s") % {"due": due}, "", case.response.comment or "", "", url])
    EmailMessage(subject=_("Overdue follow-up: score %(score)d") % {"score": case.response.score}, body=body,
                 from_email=case.account.from_email, to=to).send()


def _claim(case: Case, *, from_level: int, to_level: int) -> bool:
    return Case.objects.filter(pk=case.pk, escalation_level=from_level, status=Case.Status.OPEN).update(
        escalation_level=to_level) == 1


def escalate_overdue_cases(*, account: Account, now: datetime | None = None) -> int:
    """Alert the assignee of each overdue open case, then (``escalate_admins_after_minutes`` later) the
    admins. Idempotent: each level is claimed by a conditional UPDATE before its mail; a failed send
    releases the claim so the next sweep retries. Returns the number of alerts sent."""
    now = now or timezone.now()
    settings_row = case_settings(account)
    later = timedelta(minutes=settings_row.escalate_admins_after_minutes)
    sent = 0
    overdue = (account.cases.filter(status=Case.Status.OPEN, holdout=False, due_at__lte=now, escalation_level__lt=2)
               .select_related("account", "response", "assignee").order_by("due_at", "pk"))
    for case in overdue:
        assignee_to = [case.assignee.email] if case.assignee_id and case.assignee.email else (
            [case.assignee_email] if case.assignee_email else [])
        if case.escalation_level == 0 and assignee_to:
            steps = [(0, 1, assignee_to, False)]
        elif case.escalation_level == 0 or case.due_at + later <= now:
            steps = [(case.escalation_level, 2, admin_addresses(account), True)]
        else:
            continue
        for from_level, to_level, to, admins in steps:
            if not to or not _claim(case, from_level=from_level, to_level=to_level):
                continue
            try:
                _send_overdue_alert(case, to, admins=admins)
            except Exception:
                Case.objects.filter(pk=case.pk, escalation_level=to_level).update(escalation_level=from_level)
                raise
            CaseEvent.objects.create(account=account, case=case, kind="escalated", created_at=now,
                                     data={"level": to_level, "to": to})
            sent += 1
    return sent
