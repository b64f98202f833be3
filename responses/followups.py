"""Follow-up emails to promoters and passives carrying the tracked thank-you action (issue 8).

Per score group, for one survey or as the account's default (``FollowUpRule``): enabled, delay,
subject and body (``{{property}}`` placeholders as in survey emails), and the action. The action link
is the survey's thank-you action for that group, reached through the signed link-survey door
(``respond:link-action``), so every click is an ``ActionClick`` in the existing report.

Scheduling lives in the database: a response (created or changed) writes at most one ``FollowUp``
row with its ``due_at`` (``FollowUp.response`` is one-to-one); the beat task
``responses.send_due_follow_ups`` (every minute) sends the due ones. Sending follows the invitation
send path: each row is claimed and committed (``sending`` with a lease) before the mail server sees
anything; an expired lease becomes ``unknown`` and is never resent (no email twice). Suppressed
addresses and paused accounts are skipped at send time; a person gets at most one follow-up per
throttle window (``Account.throttle_days``). Messages carry ``List-Unsubscribe`` headers, a visible
unsubscribe link, the account id, and the response's invitation id as anymail metadata, so a
bounce or complaint about a follow-up reaches the same suppression path as one about the survey.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from anymail.message import AnymailMessage
from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import sql
from accounts.models import Account
from accounts.scoping import account_scope, cross_account
from responses import actions
from responses.models import FollowUp, FollowUpRule, Response
from surveys.services.emails import SUPPORTED_LOCALES, fill_placeholders, sending_domain
from surveys.services.suppressions import is_suppressed, unsubscribe_token

logger = logging.getLogger("verbatim")

GROUPS = ("promoter", "passive")
SEND_LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5
PER_TICK = 1000
PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                    AnymailRecipientsRefused, AnymailInvalidAddress, ValueError, UnicodeError)
MAX_DELAY_MINUTES = 60 * 24 * 30


# --- configuration ---------------------------------------------------------------------------------

def save_follow_up_rule(*, account: Account, group: str, subject: str, body: str, survey: Any = None,
                        enabled: bool = True, delay_minutes: int = 60, action: str = FollowUpRule.Action.REVIEW,
                        link_text: str = "") -> FollowUpRule:
    """Create or replace the follow-up email of ``group`` for ``survey`` (None: the account's default)."""
    if group not in GROUPS:
        raise ValidationError({"group": _("Follow-up emails go to promoters or passives.")})
    if survey is not None and survey.account_id != account.pk:
        raise ValidationError({"survey": _("Unknown survey.")})
    if action not in FollowUpRule.Action.values:
        raise ValidationError({"action": _("Unknown action.")})
    if not 0 <= int(delay_minutes) <= MAX_DELAY_MINUTES:
        raise ValidationError({"delay_minutes": _("Send within 30 days (0 to %(max)d minutes).")
                               % {"max": MAX_DELAY_MINUTES}})
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise ValidationError({"subject": _("Write a subject.")})
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    values = {"enabled": enabled, "delay_minutes": int(delay_minutes), "subject": subject, "body": body,
              "action": action, "link_text": (link_text or "").strip()}
    with transaction.atomic():
        rule, _created = FollowUpRule.objects.update_or_create(account=account, survey=survey, group=group,
                                                               defaults=values)
    return rule


def delete_follow_up_rule(*, rule: FollowUpRule) -> None:
    rule.delete()


def follow_up_rule_for(*, response: Response, group: str) -> FollowUpRule | None:
    """The enabled rule for this response's survey and group: the survey's own, else the account's default."""
    # hand-written (accounts/sql.py): this runs in every promoter's and passive's answer transaction
    return pick_rule(sql.fetch_instances(
        FollowUpRule, f"SELECT {sql.select_list(FollowUpRule, 'f')} FROM responses_followuprule f "  # noqa: S608 (model metadata)
                      "WHERE f.account_id = %s AND f.\"group\" = %s AND (f.survey_id = %s OR f.survey_id IS NULL)",
        [response.account_id, group, response.survey_id]), survey_id=response.survey_id, group=group)


def pick_rule(rules: list[FollowUpRule], *, survey_id: int, group: str) -> FollowUpRule | None:
    """Of a survey's and the account's rules, the enabled one for ``group``: the survey's own, else the default."""
    by_survey = {r.survey_id: r for r in rules if r.group == group and r.survey_id in (survey_id, None)}
    rule = by_survey.get(survey_id) or by_survey.get(None)
    return rule if rule is not None and rule.enabled else None


def plan_new_follow_up(*, response: Response, rules: list[FollowUpRule], now: datetime) -> FollowUp | None:
    """The follow-up row a just-created response gets (``schedule_follow_up`` with ``created``, unsaved),
    given its survey's and account's rules; None when it gets none."""
    if response.suspected_bot or response.person_id is None:
        return None
    group = response.survey.group_of(response.score)
    rule = pick_rule(rules, survey_id=response.survey_id, group=group) if group in GROUPS else None
    if rule is None or not (response.person and response.person.email):
        return None
    return FollowUp(account=response.account, response=response, person_id=response.person_id, rule=rule,
                    group=group, due_at=now + timedelta(minutes=rule.delay_minutes), created_at=now)


# --- scheduling --------------------------------------------------------------------------------------

def schedule_follow_up(*, response: Response, now: datetime | None = None, created: bool = False) -> FollowUp | None:
    """Called in the response's transaction when it is created or changed: write (or adjust) its one
    follow-up row. A changed score before the send moves the row to the new group's rule or cancels it.

    On the capture hot path: a new detractor costs no query, a new promoter or passive one (the rule).
    """
    if response.suspected_bot or response.person_id is None:
        return None
    now = now or timezone.now()
    group = response.survey.group_of(response.score)
    if created and group not in GROUPS:
        return None
    rule = follow_up_rule_for(response=response, group=group) if group in GROUPS else None
    existing = None if created else FollowUp.objects.filter(response=response).first()
    if existing is not None:
        if existing.status == FollowUp.Status.SCHEDULED and existing.group != group:
            if rule is None:
                FollowUp.objects.filter(pk=existing.pk, status=FollowUp.Status.SCHEDULED).update(
                    status=FollowUp.Status.CANCELLED, failure_reason="score changed")
            else:
                FollowUp.objects.filter(pk=existing.pk, status=FollowUp.Status.SCHEDULED).update(
                    group=group, rule=rule)
        return existing
    if rule is None or not (response.person and response.person.email):
        return None
    try:
        with transaction.atomic():
            return FollowUp.objects.create(account=response.account, response=response, person_id=response.person_id,
                                           rule=rule, group=group, due_at=now + timedelta(minutes=rule.delay_minutes),
                                           created_at=now)
    except IntegrityError:  # a concurrent write of the same response made it first: at most once
        return FollowUp.objects.filter(response=response).first()


# --- sending -----------------------------------------------------------------------------------------

def expire_follow_up_leases(*, now: datetime | None = None) -> int:
    """Rows still ``sending`` after their lease: the worker died mid-send. ``unknown``, never resent."""
    with cross_account():  # the sweeper serves every account
        return FollowUp.objects.filter(status=FollowUp.Status.SENDING, lease_until__lt=now or timezone.now()).update(
            status=FollowUp.Status.UNKNOWN, lease_until=None,
            failure_reason="interrupted while sending; not resent automatically")


def send_due_follow_ups(*, now: datetime | None = None) -> int:
    """One sweep: expire leases, then send every due follow-up, account by account. Returns how many sent."""
    now = now or timezone.now()
    expire_follow_up_leases(now=now)
    with cross_account():  # which accounts have due rows (followup_due index); each is then sent in its scope
        due = list(FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED, due_at__lte=now)
                   .order_by("due_at", "pk").values_list("account_id", "pk")[:PER_TICK])
    per_account: dict[int, list[int]] = {}
    for account_id, pk in due:
        per_account.setdefault(account_id, []).append(pk)
    sent = 0
    for account_id, ids in per_account.items():
        counts = send_follow_ups(account=Account.objects.get(pk=account_id), ids=ids)
        sent += counts.get(FollowUp.Status.SENT, 0)
    return sent


def send_follow_ups(*, account: Account, ids: Iterable[int]) -> dict[str, int]:
    """Send a batch over one connection; each row is claimed, checked, sent and recorded on its own.
    Safe to run twice or concurrently: a row that is no longer ``scheduled`` is left alone."""
    counts: dict[str, int] = {}
    connection = None
    with account_scope(account):
        rows = list(account.follow_ups.filter(pk__in=list(ids), status=FollowUp.Status.SCHEDULED)
                    .select_related("account", "person", "rule", "response", "response__survey")
                    .order_by("due_at", "pk"))
        try:
            for row in rows:
                if connection is None and not account.sending_paused:
                    connection = get_connection(fail_silently=False)
                outcome = send_follow_up(follow_up=row, connection=connection)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "retry":  # the mail server is unreachable: the rest waits for the next sweep
                    break
        finally:
            if connection is not None:
                try:
                    connection.close()
                except Exception:  # closing a broken connection must not hide the results
                    logger.warning("could not close the mail connection", exc_info=True)
    return counts


def _mark(row: FollowUp, *, from_status: str, **fields: Any) -> int:
    return FollowUp.objects.filter(pk=row.pk, status=from_status).update(lease_until=None, **fields)


def _skip_reason(row: FollowUp, now: datetime) -> tuple[str, str] | None:
    """Rules checked under the claim: paused account, suppressed address, throttle, a changed score."""
    account, person, response = row.account, row.person, row.response
    if account.sending_paused:
        return FollowUp.Status.SKIPPED_PAUSED, "sending paused"
    if not person.email:
        return FollowUp.Status.FAILED, "no email address"
    if response.survey.group_of(response.score) != row.group or row.rule is None or not row.rule.enabled:
        return FollowUp.Status.CANCELLED, "no follow-up for this response any more"
    if is_suppressed(account=account, email=person.email):
        return FollowUp.Status.SKIPPED_SUPPRESSED, "suppressed address"
    # One follow-up per person per throttle window. Claims commit before this check, so of two
    # concurrent rows for one person each sees the other; the older row wins.
    recent = Q(status=FollowUp.Status.SENT, sent_at__gte=now - timedelta(days=account.throttle_days or 0))
    recent |= Q(status=FollowUp.Status.SENDING, pk__lt=row.pk)
    if account.throttle_days and account.follow_ups.filter(recent, person=person).exclude(pk=row.pk).exists():
        return FollowUp.Status.SKIPPED_THROTTLED, "followed up recently"
    return None


def follow_up_locale(row: FollowUp) -> str:
    response = row.response
    invitation_locale = ""
    if response.invitation_id and response.invitation is not None:
        invitation_locale = (response.invitation.properties or {}).get("locale") or ""
    locale = str(response.locale or invitation_locale or response.survey.locale or "en")
    locale = locale.replace("_", "-").split("-")[0].lower()
    return locale if locale in SUPPORTED_LOCALES else "en"


def action_url(row: FollowUp) -> str:
    """The tracked door to the survey's thank-you action for the row's group ("" when none is configured)."""
    survey = row.response.survey
    if not actions.action_target(survey, row.group):
        return ""
    signed = actions.sign_link_action(survey=survey, group=row.group, response=row.response)
    return settings.SITE_URL + reverse("respond:link-action", kwargs={"public_id": survey.public_id,
                                                                     "signed": signed})


def build_follow_up_message(*, row: FollowUp, attempt: int, connection: Any = None) -> AnymailMessage:
    """The follow-up email: the rule's texts with placeholders, the action link, unsubscribe headers."""
    rule, response, person, account = row.rule, row.response, row.person, row.account
    survey = response.survey
    props = response.properties or {}
    unsubscribe_url = f"{settings.SITE_URL}/u/{unsubscribe_token(account_id=account.pk, person_id=person.pk)}"
    locale = follow_up_locale(row)
    with translation.override(locale):
        subject = fill_placeholders(rule.subject, survey=survey, person=person, properties=props)
        body = fill_placeholders(rule.body, survey=survey, person=person, properties=props)
        default_text = {FollowUpRule.Action.REVIEW: _("Leave a review"),
                        FollowUpRule.Action.REFERRAL: _("Refer a friend"),
                        FollowUpRule.Action.QUESTION: _("What would make it a 10?")}[rule.action]
        context = {"account": account, "body": body, "action_url": action_url(row),
                   "link_text": rule.link_text or default_text, "unsubscribe_url": unsubscribe_url,
                   "brand_color": account.brand_color, "LANGUAGE_CODE": locale}
        text = render_to_string("responses/emails/follow_up.txt", context)
        html = render_to_string("responses/emails/follow_up.html", context)
    from_email = account.from_email
    message = AnymailMessage(
        subject=" ".join(subject.split()), body=text, from_email=from_email, to=[person.email],
        connection=connection,
        headers={
            "Message-ID": f"<fu-{row.pk}.{attempt}@{sending_domain(from_email)}>",
            "X-Verbatim-Account": str(account.pk),
            "X-Verbatim-Follow-Up": str(row.pk),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    metadata = {"account_id": str(account.pk), "follow_up_id": str(row.pk)}
    if response.invitation_id:  # bounces and complaints route through the invitation (tracking.py)
        metadata["invitation_id"] = str(response.invitation_id)
        message.extra_headers["X-Verbatim-Invitation"] = str(response.invitation_id)
    message.metadata = metadata
    message.tags = ["follow-up"]
    return message


def send_follow_up(*, follow_up: FollowUp, connection: Any = None) -> str:
    """Claim (committed), check, send and record one follow-up; returns its outcome."""
    row, now = follow_up, timezone.now()
    claimed = FollowUp.objects.filter(pk=row.pk, status=FollowUp.Status.SCHEDULED).update(
        status=FollowUp.Status.SENDING, lease_until=now + SEND_LEASE, attempts=F("attempts") + 1)
    if claimed != 1:
        return "not_claimed"
    skip = _skip_reason(row, now)
    if skip is not None:
        _mark(row, from_status=FollowUp.Status.SENDING, status=skip[0], failure_reason=skip[1])
        return skip[0]
    # The claim is committed: from here a crash leaves ``sending`` -> ``unknown``, never a resend.
    attempt = row.attempts + 1
    try:
        message = build_follow_up_message(row=row, attempt=attempt, connection=connection)
        if connection is not None:
            connection.open()  # once per batch: a no-op when already open
        message.send(fail_silently=False)
    except PERMANENT_ERRORS as exc:
        _mark(row, from_status=FollowUp.Status.SENDING, status=FollowUp.Status.FAILED, failure_reason=str(exc)[:255])
        return FollowUp.Status.FAILED
    except AnymailAPIError as exc:  # the ESP may or may not have taken it: at most once
        _mark(row, from_status=FollowUp.Status.SENDING, status=FollowUp.Status.UNKNOWN, failure_reason=str(exc)[:255])
        return FollowUp.Status.UNKNOWN
    except (smtplib.SMTPException, OSError) as exc:  # never accepted: safe to send again later
        if attempt >= MAX_ATTEMPTS:
            _mark(row, from_status=FollowUp.Status.SENDING, status=FollowUp.Status.FAILED,
                  failure_reason=str(exc)[:255])
            return FollowUp.Status.FAILED
        _mark(row, from_status=FollowUp.Status.SENDING, status=FollowUp.Status.SCHEDULED,
              due_at=timezone.now() + RETRY_AFTER, failure_reason=f"mail server unreachable: {exc}"[:255])
        logger.warning("mail server unreachable for follow-up %s; will retry", row.pk, exc_info=True)
        return "retry"
    status = getattr(message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) or message.extra_headers["Message-ID"].strip("<>")
    _mark(row, from_status=FollowUp.Status.SENDING, status=FollowUp.Status.SENT, sent_at=timezone.now(),
          esp_message_id=str(esp_id)[:255], failure_reason="")
    return FollowUp.Status.SENT


@shared_task(name="responses.send_due_follow_ups", acks_late=True)
def send_due_follow_ups_task() -> int:
    """Beat, every minute: send the follow-up emails whose due time has passed (rows hold the schedule)."""
    return send_due_follow_ups()
