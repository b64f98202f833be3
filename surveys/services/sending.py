"""The dispatcher and the send step: the database holds the schedule, leases make crashes safe.

States: scheduled -> sending (lease, attempt_id; committed before the mail server sees anything)
-> sent | failed | skipped_throttled | skipped_suppressed | skipped_paused | cancelled; a row whose
lease expires while ``sending`` becomes ``unknown`` and is never resent on its own (decision D1).
A ``scheduled`` row with a future ``lease_until`` has been handed to a send task; when that lease
runs out (the task was lost with Redis), the dispatcher hands it out again: nothing is lost.
"""
from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import account_scope, cross_account
from surveys.models import Channel, Invitation, Person, Suppression, Survey
from surveys.services.emails import build_message
from surveys.services.suppressions import _forms
from surveys.tokens import new_token

logger = logging.getLogger("verbatim")

SEND_LEASE = timedelta(minutes=5)  # longer than one batch takes; an expired one means a crash
DISPATCH_LEASE = timedelta(minutes=10)  # a handed-out row is handed out again after this (task lost)
RETRY_AFTER = timedelta(minutes=2)  # a row whose mail server was unreachable waits this long
MAX_ATTEMPTS = 5
PER_ACCOUNT_PER_TICK = 5000  # fairness: one busy account cannot starve the others (EM-27)
BATCH_SIZE = 100  # ids per send task: one SMTP connection each


def expire_send_leases() -> int:
    """Rows still ``sending`` after their lease: the worker died mid-send. Mark ``unknown`` (D1)."""
    now = timezone.now()
    with cross_account():  # the sweeper serves every account
        return Invitation.objects.filter(status=Invitation.Status.SENDING, lease_until__lt=now).update(
            status=Invitation.Status.UNKNOWN, lease_until=None,
            failure_reason="interrupted while sending; not resent automatically")


def _due(now) -> Q:
    return Q(status=Invitation.Status.SCHEDULED, scheduled_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def claim_due_for_account(*, account_id: int, limit: int = PER_ACCOUNT_PER_TICK) -> list[int]:
    """Claim up to ``limit`` due rows of one account for a send task (short transaction, SKIP LOCKED)."""
    now = timezone.now()
    with cross_account(), transaction.atomic():  # the dispatcher's own claim; ids go to scoped tasks
        ids = list(
            Invitation.objects.filter(_due(now), account_id=account_id)
            .order_by("scheduled_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Invitation.objects.filter(pk__in=ids).update(lease_until=now + DISPATCH_LEASE)
    return ids


def skip_paused_accounts() -> int:
    """Due rows of accounts whose sending is paused become ``skipped_paused``."""
    now = timezone.now()
    with cross_account():  # one sweep across accounts
        paused = Account.objects.filter(sending_paused=True).values("pk")
        return Invitation.objects.filter(_due(now), account_id__in=paused).update(
            status=Invitation.Status.SKIPPED_PAUSED, lease_until=None, failure_reason="sending paused")


def dispatch_due(*, enqueue=None, per_account: int = PER_ACCOUNT_PER_TICK, batch_size: int = BATCH_SIZE) -> int:
    """One dispatcher cycle: expire leases, skip paused accounts, claim due rows fairly, hand out batches.

    ``enqueue(account_id, ids)`` publishes a send task (default: the Celery task, after commit).
    Returns the number of invitations handed out.
    """
    if enqueue is None:
        from accounts.tasks_util import enqueue_on_commit
        from surveys import tasks

        def enqueue(account_id: int, ids: list[int]) -> None:
            enqueue_on_commit(tasks.send_invitations, account_id, ids)

    expire_send_leases()
    skip_paused_accounts()
    now = timezone.now()
    with cross_account():  # which accounts have due rows (uses the invitation_due index)
        account_ids = list(Invitation.objects.filter(_due(now)).values_list("account_id", flat=True)
                           .order_by("account_id").distinct())
    handed = 0
    for account_id in account_ids:
        ids = claim_due_for_account(account_id=account_id, limit=per_account)
        for start in range(0, len(ids), batch_size):
            enqueue(account_id, ids[start:start + batch_size])
        handed += len(ids)
    return handed


class _Skip(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _claim(invitation: Invitation, now) -> tuple[uuid.UUID, str] | None:
    """Claim one row for sending (committed): status, lease, attempt id and a fresh token (D4)."""
    attempt_id = uuid.uuid4()
    raw, hashed = new_token()
    claimed = Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SCHEDULED).update(
        status=Invitation.Status.SENDING, attempt_id=attempt_id, lease_until=now + SEND_LEASE,
        attempts=F("attempts") + 1, token_hash=hashed,
        token_expires_at=now + timedelta(days=invitation.account.link_expiry_days))
    return (attempt_id, raw) if claimed == 1 else None


def _static_skip(invitation: Invitation) -> _Skip | None:
    """Rules that need no query: paused account, survey state, channel."""
    if invitation.account.sending_paused:
        return _Skip(Invitation.Status.SKIPPED_PAUSED, "sending paused")
    if invitation.survey.status != Survey.Status.ACTIVE:
        return _Skip(Invitation.Status.CANCELLED, "survey paused or archived")
    if invitation.channel != Channel.EMAIL or not invitation.person.email:
        return _Skip(Invitation.Status.FAILED,
                     "no email address" if not invitation.person.email else "channel not supported")
    return None


CLAIM_SQL = """
WITH done AS (
  UPDATE {invitation} SET status = 'sent', esp_message_id = %(done_esp)s, sent_at = %(done_at)s,
         lease_until = NULL, failure_reason = '', updated_at = %(done_at)s
  WHERE id = %(done_id)s AND status = 'sending' AND attempt_id = %(done_attempt)s RETURNING id),
claim AS (
  UPDATE {invitation} SET status = 'sending', attempt_id = %(attempt)s, lease_until = %(lease)s,
         attempts = attempts + 1, token_hash = %(hash)s, token_expires_at = %(expires)s, updated_at = %(now)s
  WHERE id = %(id)s AND status = 'scheduled' RETURNING person_id),
sup AS (
  SELECT EXISTS (SELECT 1 FROM {suppression} WHERE email = ANY(%(emails)s)
                 AND (account_id = %(account)s OR reason = 'bounced')) AS hit),
thr AS (
  UPDATE {person} SET last_surveyed_at = %(now)s
  WHERE id = (SELECT person_id FROM claim) AND NOT (SELECT hit FROM sup)
    AND (last_surveyed_at IS NULL OR last_surveyed_at <= %(cutoff)s) RETURNING id)
SELECT (SELECT count(*) FROM claim), (SELECT hit FROM sup), (SELECT count(*) FROM thr), (SELECT count(*) FROM done)
"""


def _claim_and_check(invitation: Invitation, now, connection: _LazyConnection) -> tuple[uuid.UUID, str] | None:
    """Claim one row (committed before anything is sent) and apply the suppression and throttle rules
    under that claim. Raises _Skip (row already marked) or returns None when another worker has it.

    On PostgreSQL this is one statement (claim, suppression check, throttle UPDATE: atomic together,
    one round trip); elsewhere the same steps run in one transaction.
    """
    skip = _static_skip(invitation)
    if skip is not None or db_connection.vendor != "postgresql":
        connection.record_sent()
    if skip is not None:
        if Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SCHEDULED).update(
                status=skip.status, lease_until=None, failure_reason=skip.reason) != 1:
            return None
        raise skip
    if db_connection.vendor != "postgresql":
        with transaction.atomic():
            claim = _claim(invitation, now)
            if claim is None:
                return None
            try:
                _check(invitation, now)
            except _Skip as skip:
                Invitation.objects.filter(pk=invitation.pk, attempt_id=claim[0]).update(
                    status=skip.status, lease_until=None, failure_reason=skip.reason)
                raise
            return claim
    account = invitation.account
    attempt_id = uuid.uuid4()
    raw, hashed = new_token()
    cutoff = now - timedelta(days=account.throttle_days) if account.throttle_days else now + timedelta(days=1)
    sql = CLAIM_SQL.format(invitation=Invitation._meta.db_table, suppression=Suppression._meta.db_table,
                           person=Person._meta.db_table)
    done = connection.pending_sent or (None, None, "", None)
    connection.pending_sent = None
    with db_connection.cursor() as cursor:
        cursor.execute(sql, {  # noqa: S608 (table names from our models; values are parameters)
            "done_id": done[0], "done_attempt": done[1], "done_esp": done[2], "done_at": done[3],
            "attempt": attempt_id, "lease": now + SEND_LEASE, "hash": hashed,
            "expires": now + timedelta(days=account.link_expiry_days), "now": now, "id": invitation.pk,
            "emails": _forms(invitation.person.email), "account": account.pk, "cutoff": cutoff})
        claimed, suppressed, throttle_ok, _done = cursor.fetchone()
    if not claimed:
        return None
    if suppressed or not throttle_ok:
        skip = (_Skip(Invitation.Status.SKIPPED_SUPPRESSED, "suppressed address") if suppressed
                else _Skip(Invitation.Status.SKIPPED_THROTTLED, "surveyed recently"))
        Invitation.objects.filter(pk=invitation.pk, attempt_id=attempt_id).update(
            status=skip.status, lease_until=None, failure_reason=skip.reason)
        raise skip
    return attempt_id, raw


def _check(invitation: Invitation, now) -> None:
    """Rules applied under the claim (non-PostgreSQL path): suppression, then the throttle."""
    account, person = invitation.account, invitation.person
    with cross_account():  # own suppressions plus platform-wide hard bounces (D2)
        suppressed = Suppression.objects.filter(
            Q(account_id=account.pk) | Q(reason=Suppression.Reason.BOUNCED), email__in=_forms(person.email)
        ).exists()
    if suppressed:
        raise _Skip(Invitation.Status.SKIPPED_SUPPRESSED, "suppressed address")
    # The throttle, atomically (EM-26): only one of two concurrent sends to this person wins.
    window = Q(last_surveyed_at__isnull=True)
    if account.throttle_days:
        window |= Q(last_surveyed_at__lte=now - timedelta(days=account.throttle_days))
    else:
        window |= Q(last_surveyed_at__isnull=False)
    if Person.objects.filter(window, pk=person.pk).update(last_surveyed_at=now) != 1:
        raise _Skip(Invitation.Status.SKIPPED_THROTTLED, "surveyed recently")


def _finish(invitation: Invitation, attempt_id: uuid.UUID, **fields) -> int:
    return Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENDING,
                                     attempt_id=attempt_id).update(lease_until=None, **fields)


def _undo_throttle(invitation: Invitation, now, previous) -> None:
    Person.objects.filter(pk=invitation.person_id, last_surveyed_at=now).update(last_surveyed_at=previous)


PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                    AnymailRecipientsRefused, AnymailInvalidAddress, ValueError, UnicodeError)


class _LazyConnection:
    """One mail connection per batch (EM-29), opened at the first message that gets past the checks.

    It also holds the ``sent`` mark of the message just accepted: on PostgreSQL that mark commits in
    the same statement as the next message's claim (one round trip instead of two), still before the
    next message goes out; the end of the batch (or any other path) records it on its own.
    """

    def __init__(self) -> None:
        self.connection = None
        self.pending_sent: tuple | None = None

    def record_sent(self) -> None:
        if self.pending_sent is not None:
            pk, attempt_id, esp_id, at = self.pending_sent
            self.pending_sent = None
            Invitation.objects.filter(pk=pk, status=Invitation.Status.SENDING, attempt_id=attempt_id).update(
                status=Invitation.Status.SENT, esp_message_id=esp_id, sent_at=at, lease_until=None, failure_reason="")

    def get(self):
        if self.connection is None:
            connection = get_connection(fail_silently=False)
            connection.open()
            self.connection = connection
        return self.connection

    def close(self) -> None:
        self.record_sent()
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # closing a broken connection must not hide the results
                logger.warning("could not close the mail connection", exc_info=True)


def send_invitations(*, account: Account, invitation_ids: Iterable[int]) -> dict[str, int]:
    """Send a batch over one connection; each message is claimed, sent and recorded on its own.

    Safe to run twice (or concurrently) with the same ids: a row not ``scheduled`` is left alone.
    """
    counts: dict[str, int] = {}
    with account_scope(account):
        invitations = list(account.invitations.filter(pk__in=list(invitation_ids),
                                                      status=Invitation.Status.SCHEDULED)
                           .select_related("person", "survey", "account").order_by("scheduled_at", "pk"))
        connection = _LazyConnection()
        try:
            for invitation in invitations:
                outcome = send_one(invitation=invitation, connection=connection)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "retry":  # the mail server is unreachable: leave the rest for later
                    break
        finally:
            connection.close()
    return counts


def send_one(*, invitation: Invitation, connection: _LazyConnection) -> str:
    """Claim, check, send and record one invitation; returns its outcome."""
    now = timezone.now()
    previous = invitation.person.last_surveyed_at
    try:
        claim = _claim_and_check(invitation, now, connection)
    except _Skip as skip:
        return skip.status
    if claim is None:
        return "not_claimed"  # another task has it, or it was cancelled
    attempt_id, raw = claim
    # The claim is committed: from here a crash leaves ``sending`` -> ``unknown``, never a resend.
    attempt = invitation.attempts + 1
    try:
        message = build_message(invitation=invitation, raw_token=raw, attempt=attempt, connection=connection.get())
        message.send(fail_silently=False)
    except PERMANENT_ERRORS as exc:
        _undo_throttle(invitation, now, previous)
        _finish(invitation, attempt_id, status=Invitation.Status.FAILED, failure_reason=str(exc)[:255])
        return Invitation.Status.FAILED
    except AnymailAPIError as exc:  # the ESP may or may not have taken it: at-most-once (D1)
        _finish(invitation, attempt_id, status=Invitation.Status.UNKNOWN, failure_reason=str(exc)[:255])
        return Invitation.Status.UNKNOWN
    except (smtplib.SMTPException, OSError) as exc:  # never accepted by the server: safe to send again later
        _undo_throttle(invitation, now, previous)
        if attempt >= MAX_ATTEMPTS:
            _finish(invitation, attempt_id, status=Invitation.Status.FAILED, failure_reason=str(exc)[:255])
            return Invitation.Status.FAILED
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENDING, attempt_id=attempt_id).update(
            status=Invitation.Status.SCHEDULED, lease_until=timezone.now() + RETRY_AFTER,
            failure_reason=f"mail server unreachable: {exc}"[:255])
        logger.warning("mail server unreachable for invitation %s; will retry", invitation.pk, exc_info=True)
        return "retry"
    status = getattr(message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None)
    if esp_id in (None, ""):  # plain SMTP: our own deterministic Message-ID
        esp_id = message.extra_headers["Message-ID"].strip("<>")
    connection.pending_sent = (invitation.pk, attempt_id, str(esp_id)[:255], timezone.now())
    if db_connection.vendor != "postgresql":
        connection.record_sent()
    return Invitation.Status.SENT
