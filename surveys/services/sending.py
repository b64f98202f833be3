"""The dispatcher and the send step: the database holds the schedule, leases make crashes safe.

States: scheduled -> [handed out: still ``scheduled``, with the hand-out's attempt_id and a lease] ->
sending (committed before the mail server sees anything) -> sent | failed | skipped_throttled |
skipped_suppressed | skipped_paused | skipped_quota | cancelled; a row whose lease expires while
``sending`` becomes ``unknown`` and is never resent on its own (decision D1). A ``scheduled`` row
with a future ``lease_until`` has been handed to a send task (or claimed by a direct call); when that lease
runs out (the task or its worker was lost), the dispatcher hands it out again: nothing is lost.

Speed (docs/performance.md, "Dispatch"): a send task works under the attempt id its rows got when
the dispatcher handed them out (no claim of its own); then per
message one autocommitted statement records the previous message ``sent`` and marks this one
``sending`` (with the suppression and throttle checks), durably by default (the WAL flush can be
skipped with ``SEND_SYNCHRONOUS_COMMIT=off``: config/settings.py says what that risks); the
message goes out as ready-made bytes (emails.message_bytes) over its lane's SMTP connection (EM-29).
A batch runs over ``SEND_LANES`` lanes (threads, each with its own database and SMTP connection):
their durable commits share WAL flushes, where one sender waits for one flush per message.
"""
from __future__ import annotations

import logging
import os
import queue
import smtplib
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import timedelta

import psycopg
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import account_scope, cross_account
from surveys.models import Channel, Invitation, Person, Suppression, Survey
from surveys.services.emails import SAFE_ADDRESS, build_message, message_bytes, sending_domain
from surveys.services.quotas import quota_room
from surveys.services.suppressions import _forms
from surveys.tokens import new_token

logger = logging.getLogger("verbatim")

SEND_LEASE = timedelta(minutes=5)  # longer than one batch takes; an expired one means a crash
DISPATCH_LEASE = timedelta(minutes=10)  # a handed-out row is handed out again after this (task lost)
RETRY_AFTER = timedelta(minutes=2)  # a row whose mail server was unreachable waits this long
MAX_ATTEMPTS = 5
PER_ACCOUNT_PER_TICK = 5000  # fairness: one busy account cannot starve the others (EM-27)
BATCH_SIZE = 100  # ids per send task: one SMTP connection each
# EM-21 fault hooks, read once (nothing to pay when unset): "before_smtp" ends the worker after a
# message's claim is committed and before it is marked sending; "after_smtp_accept" after the mail
# server accepted a message and before its ``sent`` is committed.
FAULT = os.environ.get("VERBATIM_FAULT", "")


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


def claim_due_for_account(*, account_id: int, limit: int = PER_ACCOUNT_PER_TICK) -> tuple[list[int], uuid.UUID]:
    """Hand out up to ``limit`` due rows of one account (short transaction, SKIP LOCKED).

    Returns the ids and the hand-out's attempt id: the rows carry it from here, so the send tasks
    given these ids work under it without claiming them again (one UPDATE per row fewer); a task of
    an earlier, lost hand-out finds another attempt id and sends nothing. The account's send quotas
    (EM-28) cap the hand-out; due rows past them become ``skipped_quota``.
    """
    now = timezone.now()
    attempt_id = uuid.uuid4()
    with cross_account(), transaction.atomic():  # the dispatcher's own claim; ids go to scoped tasks
        # The account row's lock serialises dispatchers of one account, so two cannot both spend the
        # same quota room (FOR NO KEY UPDATE: inserts referencing the account are not blocked).
        account = Account.objects.select_for_update(no_key=True).get(pk=account_id)
        room, reason = quota_room(account=account, now=now)
        due = (Invitation.objects.filter(_due(now), account_id=account_id).order_by("scheduled_at", "pk")
               .select_for_update(skip_locked=True, of=("self",)))
        ids = list(due.values_list("pk", flat=True)[:min(limit, room)]) if room > 0 else []
        if ids:  # a fresh hand-out: any claim of an earlier, lost send task is void
            Invitation.objects.filter(pk__in=ids).update(lease_until=now + DISPATCH_LEASE, attempt_id=attempt_id)
        if room < limit:
            over = list(due.exclude(pk__in=ids).values_list("pk", flat=True)[:limit - len(ids)])
            if over:
                Invitation.objects.filter(pk__in=over).update(
                    status=Invitation.Status.SKIPPED_QUOTA, lease_until=None, failure_reason=reason[:255])
    return ids, attempt_id


def skip_paused_accounts() -> int:
    """Due rows of accounts whose sending is paused become ``skipped_paused``."""
    now = timezone.now()
    with cross_account():  # one sweep across accounts
        paused = Account.objects.filter(sending_paused=True).values("pk")
        return Invitation.objects.filter(_due(now), account_id__in=paused).update(
            status=Invitation.Status.SKIPPED_PAUSED, lease_until=None, failure_reason="sending paused")


def dispatch_due(*, enqueue=None, per_account: int = PER_ACCOUNT_PER_TICK, batch_size: int = BATCH_SIZE) -> int:
    """One dispatcher cycle: expire leases, skip paused accounts, claim due rows fairly, hand out batches.

    ``enqueue(account_id, ids, attempt_id)`` publishes a send task (default: the Celery task, after
    commit); the task sends under the hand-out's ``attempt_id``.
    Returns the number of invitations handed out.
    """
    if enqueue is None:
        from accounts.tasks_util import enqueue_on_commit
        from surveys import tasks

        def enqueue(account_id: int, ids: list[int], attempt_id: uuid.UUID) -> None:
            enqueue_on_commit(tasks.send_invitations, account_id, ids, str(attempt_id))

    expire_send_leases()
    skip_paused_accounts()
    now = timezone.now()
    with cross_account():  # which accounts have due rows (uses the invitation_due index)
        account_ids = list(Invitation.objects.filter(_due(now)).values_list("account_id", flat=True)
                           .order_by("account_id").distinct())
    handed = 0
    for account_id in account_ids:
        ids, attempt_id = claim_due_for_account(account_id=account_id, limit=per_account)
        for start in range(0, len(ids), batch_size):
            enqueue(account_id, ids[start:start + batch_size], attempt_id)
        handed += len(ids)
    return handed


class _Skip(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


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


# One round trip per message on PostgreSQL (autocommit): record the previous message ``sent``, mark
# this one ``sending`` if our claim on it holds (minting its token), and check suppressions and take
# the throttle under that mark (EM-16, EM-26: atomic with it).
STEP_SQL = """
WITH done AS (
  UPDATE {invitation} SET status = 'sent', esp_message_id = %(done_esp)s, sent_at = %(done_at)s,
         lease_until = NULL, failure_reason = '', updated_at = %(done_at)s
  WHERE id = %(done_id)s AND status = 'sending' AND attempt_id = %(done_attempt)s RETURNING id),
go AS (
  UPDATE {invitation} SET status = 'sending', lease_until = %(lease)s, attempts = attempts + 1,
         token_hash = %(hash)s, token_expires_at = %(expires)s, sent_at = %(now)s, updated_at = %(now)s
  WHERE id = %(id)s AND status = 'scheduled' AND attempt_id = %(attempt)s RETURNING person_id),
sup AS (
  SELECT EXISTS (SELECT 1 FROM {suppression} WHERE email = ANY(%(emails)s)
                 AND (account_id = %(account)s OR reason = 'bounced')) AS hit),
thr AS (
  UPDATE {person} SET last_surveyed_at = %(now)s
  WHERE id = (SELECT person_id FROM go) AND NOT (SELECT hit FROM sup)
    AND (last_surveyed_at IS NULL OR last_surveyed_at <= %(cutoff)s) RETURNING id)
SELECT (SELECT count(*) FROM go), (SELECT hit FROM sup), (SELECT count(*) FROM thr)
"""


class _Batch:
    """One lane of a send task's batch: the batch's claim, the lane's one mail connection (EM-29),
    and the ``sent`` mark of the message just accepted, which commits in the same statement as the
    next message's ``sending`` mark (one round trip instead of two), still before that one goes out."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.connection = None
        self.pending_sent: tuple | None = None
        self.postgres = db_connection.vendor == "postgresql"
        self.async_commit = False
        self.attempt_id = uuid.uuid4()
        self.sql = STEP_SQL.format(invitation=Invitation._meta.db_table, suppression=Suppression._meta.db_table,
                                   person=Person._meta.db_table)

    def lane(self) -> _Batch:
        """Another lane of this batch: the same claim (attempt id), its own mail connection and its
        own pending ``sent`` mark; its database connection is its thread's own."""
        lane = _Batch(self.account)
        lane.attempt_id = self.attempt_id
        return lane

    def begin(self) -> None:
        """On PostgreSQL the batch's commits do not wait for the WAL flush (docs/performance.md: a
        worker crash cannot lose them; only a crash of PostgreSQL itself could, within ~0.6 s)."""
        from django.conf import settings

        if self.postgres and not getattr(settings, "SEND_SYNCHRONOUS_COMMIT", True):
            with db_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            self.async_commit = True

    def claim(self, ids: list[int]) -> int:
        """Claim the batch's rows for this task when it came without the hand-out's attempt id (a direct
        call, a task queued by an older version): committed, one statement; still ``scheduled``, with
        this batch's attempt id and a lease. A duplicate task finds them taken; if this one dies, the
        dispatcher hands them out again when the lease runs out (nothing of them was sent)."""
        return self.account.invitations.filter(
            pk__in=ids, status=Invitation.Status.SCHEDULED, attempt_id__isnull=True).update(
            attempt_id=self.attempt_id, lease_until=timezone.now() + SEND_LEASE)

    def release(self, ids: list[int], until) -> None:
        """Give claimed rows back unsent (the mail server is unreachable): due again at ``until``."""
        Invitation.objects.filter(pk__in=ids, status=Invitation.Status.SCHEDULED,
                                  attempt_id=self.attempt_id).update(attempt_id=None, lease_until=until)

    def record_sent(self) -> None:
        if self.pending_sent is not None:
            pk, attempt_id, esp_id, at = self.pending_sent
            self.pending_sent = None
            Invitation.objects.filter(pk=pk, status=Invitation.Status.SENDING, attempt_id=attempt_id).update(
                status=Invitation.Status.SENT, esp_message_id=esp_id, sent_at=at, lease_until=None, failure_reason="")

    def step(self, invitation: Invitation, now) -> tuple[str, _Skip | None]:
        """Mark ``invitation`` sending under the batch's claim (or skip it).

        Returns (raw token to send with, None), ("", a _Skip already recorded) or ("", None) when
        the claim did not hold (the row was cancelled meanwhile).
        """
        skip = _static_skip(invitation)
        if skip is not None:
            self.record_sent()
            recorded = Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SCHEDULED,
                                                 attempt_id=self.attempt_id).update(
                status=skip.status, lease_until=None, failure_reason=skip.reason)
            return "", skip if recorded == 1 else None
        if not self.postgres:
            return self._step_orm(invitation, now)
        raw, hashed = new_token()
        account = self.account
        cutoff = now - timedelta(days=account.throttle_days) if account.throttle_days else now + timedelta(days=1)
        done = self.pending_sent or (None, None, "", None)
        self.pending_sent = None
        db_connection.ensure_connection()
        # psycopg's own cursor: server-side binding and a prepared plan (Django's cursor binds client-side).
        with psycopg.Cursor(db_connection.connection) as cursor:
            cursor.execute(self.sql, {
                "done_id": done[0], "done_attempt": done[1], "done_esp": done[2], "done_at": done[3],
                "id": invitation.pk, "attempt": self.attempt_id, "lease": now + SEND_LEASE, "hash": hashed,
                "expires": now + timedelta(days=account.link_expiry_days), "now": now,
                "emails": _forms(invitation.person.email), "account": account.pk, "cutoff": cutoff,
            }, prepare=True)
            marked, suppressed, throttle_ok = cursor.fetchone()
        if not marked:
            return "", None
        if suppressed or not throttle_ok:
            skip = (_Skip(Invitation.Status.SKIPPED_SUPPRESSED, "suppressed address") if suppressed
                    else _Skip(Invitation.Status.SKIPPED_THROTTLED, "surveyed recently"))
            _finish(invitation, self.attempt_id, status=skip.status, failure_reason=skip.reason, sent_at=None)
            return "", skip
        return raw, None

    def _step_orm(self, invitation: Invitation, now) -> tuple[str, _Skip | None]:
        """The same step as separate statements in one transaction (databases other than PostgreSQL)."""
        self.record_sent()
        raw, hashed = new_token()
        with transaction.atomic():
            marked = Invitation.objects.filter(
                pk=invitation.pk, status=Invitation.Status.SCHEDULED, attempt_id=self.attempt_id).update(
                status=Invitation.Status.SENDING, lease_until=now + SEND_LEASE, attempts=F("attempts") + 1,
                token_hash=hashed, sent_at=now,
                token_expires_at=now + timedelta(days=invitation.account.link_expiry_days))
            if not marked:
                return "", None
            try:
                _check(invitation, now)
            except _Skip as skip:
                _finish(invitation, self.attempt_id, status=skip.status, failure_reason=skip.reason, sent_at=None)
                return "", skip
        return raw, None

    def discard_connection(self) -> None:
        """After a connection error: the next message (next batch) opens a fresh connection."""
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # it is broken already
                logger.debug("closing a broken mail connection failed", exc_info=True)
            self.connection = None

    def get(self):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        return self.connection

    def close(self) -> None:
        try:
            self.record_sent()
        finally:
            if self.async_commit:
                try:
                    with db_connection.cursor() as cursor:
                        cursor.execute("SET synchronous_commit TO DEFAULT")
                except Exception:  # a broken connection is discarded anyway
                    logger.warning("could not reset synchronous_commit", exc_info=True)
            if self.connection is not None:
                try:
                    self.connection.close()
                except Exception:  # closing a broken connection must not hide the results
                    logger.warning("could not close the mail connection", exc_info=True)


def _check(invitation: Invitation, now) -> None:
    """Rules applied under the ``sending`` mark (non-PostgreSQL path): suppression, then the throttle."""
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


def send_invitations(*, account: Account, invitation_ids: Iterable[int], lanes: int | None = None,
                     attempt_id: uuid.UUID | str | None = None) -> dict[str, int]:
    """Send a batch: each message is marked, sent and recorded on its own, over ``lanes`` sender
    lanes (default ``SEND_LANES``), each with its own database and mail connection.

    ``attempt_id``: the dispatcher's hand-out (``claim_due_for_account``) the rows already carry; the
    batch works under it. Without one (a direct call, or a task queued by an older version) the batch
    first claims its rows for a fresh attempt id in one statement.

    Safe to run twice (or concurrently) with the same ids and attempt id: each message's ``sending``
    mark is one atomic UPDATE that only one run wins; rows of another hand-out, or no longer
    ``scheduled``, are left alone.
    """
    with account_scope(account):
        batch = _Batch(account)
        ids = list(invitation_ids)
        if attempt_id is not None:
            batch.attempt_id = uuid.UUID(str(attempt_id))
        elif not batch.claim(ids):
            return {}
        invitations = _claimed(batch, ids)
        if not invitations:
            return {}
        lanes = _lane_count(lanes, len(invitations))
        if lanes == 1:
            return _send_lane(batch, invitations)
        return _send_over_lanes(batch, [invitations[lane::lanes] for lane in range(lanes)])


def _claimed(batch: _Batch, ids: list[int]) -> list[Invitation]:
    """The batch's claimed rows with their people; the account and surveys are shared instances
    (one query for the surveys, not a survey and account model built per row)."""
    account = batch.account
    invitations = list(account.invitations.filter(pk__in=ids, attempt_id=batch.attempt_id,
                                                  status=Invitation.Status.SCHEDULED)
                       .select_related("person").order_by("scheduled_at", "pk"))
    surveys = {s.pk: s for s in account.surveys.filter(pk__in={i.survey_id for i in invitations})}
    account_field, survey_field = Invitation._meta.get_field("account"), Invitation._meta.get_field("survey")
    for invitation in invitations:
        account_field.set_cached_value(invitation, account)
        survey_field.set_cached_value(invitation, surveys[invitation.survey_id])
    return invitations


def _lane_count(lanes: int | None, size: int) -> int:
    """Lanes need PostgreSQL (concurrent writers) and autocommit: inside a caller's transaction a
    lane's own connection would neither see the claim nor commit its ``sending`` mark first (D1)."""
    from django.conf import settings

    if lanes is None:
        lanes = settings.SEND_LANES
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        return 1
    return max(1, min(int(lanes), size))


def _send_lane(batch: _Batch, invitations: list[Invitation]) -> dict[str, int]:
    """One lane: its share of a claimed batch, in order, over ``batch``'s connections."""
    counts: dict[str, int] = {}
    batch.begin()
    try:
        for position, invitation in enumerate(invitations):
            outcome = send_one(invitation=invitation, batch=batch)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "retry":  # the mail server is unreachable: the rest waits for the same backoff
                batch.release([i.pk for i in invitations[position + 1:]], timezone.now() + retry_delay(1))
                break
    finally:
        batch.close()
    return counts


def _send_over_lanes(batch: _Batch, shares: list[list[Invitation]]) -> dict[str, int]:
    """Run each share in its own lane: this thread takes the first, lane threads the others.

    Every lane works under the batch's claim (its attempt id), so D1 holds per message exactly as in
    one lane; a lane that fails leaves its rows as a failed single-lane batch would (``sending``
    becomes ``unknown`` when its lease runs out, claimed rows are handed out again) while the others
    finish theirs. The first failure is raised once every lane has ended.
    """

    def lane(share: list[Invitation]) -> dict[str, int]:
        close_old_connections()  # a lane thread's kept connection: checked as Django does per request...
        db_connection.close_if_health_check_failed()  # ...and as its first cursor would (CONN_HEALTH_CHECKS)
        with account_scope(batch.account):
            return _send_lane(batch.lane(), share)

    futures = [_lane_pool().submit(lane, share) for share in shares[1:]]
    results: list[dict[str, int] | BaseException] = []
    try:
        results.append(_send_lane(batch, shares[0]))
    except BaseException as exc:  # raised below, once the other lanes have ended
        results.append(exc)
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:
            results.append(exc)
    counts: dict[str, int] = {}
    for result in results:
        if isinstance(result, BaseException):
            raise result
        for outcome, n in result.items():
            counts[outcome] = counts.get(outcome, 0) + n
    return counts


LANE_IDLE = 1.0  # seconds: a lane thread idle this long closes its database connection


class _LanePool:
    """The threads that run the extra lanes of this process's send tasks.

    A lane thread keeps its database connection from one task to the next, as a worker's main thread
    does (a new PostgreSQL backend costs ~9 ms of CPU: ~0.3 ms per message with 4 lanes and batches
    of 100), checks it as Django does at the start of a request, closes it after a failure and after
    LANE_IDLE seconds without work. Threads are added up to the most lanes asked for at once and live with the process.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads = 0
        self.busy = 0

    def submit(self, fn, *args, spawn: bool = True) -> Future:
        future: Future = Future()
        with self.lock:
            self.busy += 1
            if spawn and self.busy > self.threads:
                self.threads += 1
                threading.Thread(target=self._work, name=f"send-lane-{self.threads}", daemon=True).start()
        self.jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            try:
                future, fn, args = self.jobs.get(timeout=LANE_IDLE)
            except queue.Empty:
                db_connection.close()
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # the caller raises it
                db_connection.close()  # possibly broken: the next job connects afresh
                future.set_exception(exc)
            finally:
                with self.lock:
                    self.busy -= 1

    def close_connections(self) -> None:
        """Every idle lane thread closes its database connection now (tests: before the test
        database is dropped; a worker shutting down)."""
        with self.lock:
            threads = self.threads
        if not threads:
            return
        barrier = threading.Barrier(threads + 1)

        def close() -> None:
            try:
                db_connection.close()
            finally:
                barrier.wait(timeout=30)  # each thread takes exactly one of these

        # No new thread for these: a lane still finishing its last job (busy until its ``finally``)
        # takes one of them once it is done, while the others wait at the barrier. Spawning one
        # instead had left the finishing lane's connection open (the test database then could not
        # be dropped: the session tests/conftest.py ended was this one).
        for _ in range(threads):
            self.submit(close, spawn=False)
        barrier.wait(timeout=30)


_POOL: _LanePool | None = None
_POOL_LOCK = threading.Lock()


def close_lane_connections() -> None:
    """Close the database connections the lane threads of this process keep between send tasks."""
    if _POOL is not None and _POOL.pid == os.getpid():
        _POOL.close_connections()


def _lane_pool() -> _LanePool:
    """This process's lane pool (a forked worker process starts its own: threads do not survive fork)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = _LanePool()
        return _POOL


def send_one(*, invitation: Invitation, batch: _Batch) -> str:
    """Mark, check, send and record one invitation of a claimed batch; returns its outcome."""
    if FAULT == "before_smtp":
        os._exit(137)  # EM-21 fault test: the claim is committed, nothing went to the mail server
    now = timezone.now()
    previous = invitation.person.last_surveyed_at
    raw, skip = batch.step(invitation, now)
    if skip is not None:
        return skip.status
    if not raw:
        return "not_claimed"  # cancelled since the claim
    # ``sending`` is committed: from here a crash leaves it to become ``unknown``, never a resend (D1).
    attempt_id, attempt = batch.attempt_id, invitation.attempts + 1
    esp_id = None
    try:
        connection = batch.get()
        if isinstance(connection, SmtpBackend):  # plain SMTP: ready-made bytes, no MIME building
            sender, recipients, data = message_bytes(invitation=invitation, raw_token=raw, attempt=attempt)
            smtp_sendmail(connection.connection, sender, recipients, data)
        else:
            message = build_message(invitation=invitation, raw_token=raw, attempt=attempt, connection=connection)
            message.send(fail_silently=False)
            esp_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    except PERMANENT_ERRORS as exc:
        _undo_throttle(invitation, now, previous)
        _finish(invitation, attempt_id, status=Invitation.Status.FAILED, failure_reason=str(exc)[:255], sent_at=None)
        return Invitation.Status.FAILED
    except AnymailAPIError as exc:  # the ESP may or may not have taken it: at-most-once (D1)
        _finish(invitation, attempt_id, status=Invitation.Status.UNKNOWN, failure_reason=str(exc)[:255])
        return Invitation.Status.UNKNOWN
    except (smtplib.SMTPException, OSError) as exc:  # never accepted by the server: safe to send again later
        _undo_throttle(invitation, now, previous)
        batch.discard_connection()
        if attempt >= MAX_ATTEMPTS:
            _finish(invitation, attempt_id, status=Invitation.Status.FAILED, failure_reason=str(exc)[:255],
                    sent_at=None)
            return Invitation.Status.FAILED
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENDING, attempt_id=attempt_id).update(
            status=Invitation.Status.SCHEDULED, attempt_id=None, sent_at=None,
            lease_until=timezone.now() + retry_delay(attempt),
            failure_reason=f"mail server unreachable: {exc}"[:255])
        logger.warning("mail server unreachable for invitation %s; will retry", invitation.pk, exc_info=True)
        return "retry"
    if FAULT == "after_smtp_accept":
        os._exit(137)  # EM-21 fault test: the mail server has it, ``sent`` is not committed
    if esp_id in (None, ""):  # plain SMTP: our own deterministic Message-ID
        esp_id = f"inv-{invitation.pk}.{attempt}@{sending_domain(invitation.account.from_email)}"
    batch.pending_sent = (invitation.pk, attempt_id, str(esp_id)[:255], timezone.now())
    if not batch.postgres:
        batch.record_sent()
    return Invitation.Status.SENT


_QUOTED: dict[str, str] = {}


def _quoted(address: str) -> str:
    """smtplib's ``quoteaddr`` (an RFC 5322 parse per call: more CPU than the exchange), once per
    address; a plain address (emails.SAFE_ADDRESS) is its own addr-spec."""
    if SAFE_ADDRESS.fullmatch(address):
        return f"<{address}>"
    quoted = _QUOTED.get(address)
    if quoted is None:
        if len(_QUOTED) > 1024:
            _QUOTED.clear()
        quoted = _QUOTED[address] = smtplib.quoteaddr(address)
    return quoted


def smtp_sendmail(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """``smtp.sendmail(sender, recipients, data)`` for one recipient, with the same commands, replies
    and exceptions, minus the per-call address parsing (tests/surveys/test_send_lanes.py)."""
    if len(recipients) != 1:
        smtp.sendmail(sender, recipients, data)
        return

    def end(code: int) -> None:  # as sendmail: a 421 closes the connection, else the envelope is reset
        if code == 421:
            smtp.close()
        else:
            smtp._rset()

    smtp.ehlo_or_helo_if_needed()
    options = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"FROM:{_quoted(sender)}{options}")
    code, reply = smtp.getreply()
    if code != 250:
        end(code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    smtp.putcmd("rcpt", f"TO:{_quoted(recipients[0])}")
    code, reply = smtp.getreply()
    if code not in (250, 251):
        end(code)
        raise smtplib.SMTPRecipientsRefused({recipients[0]: (code, reply)})
    code, reply = smtp.data(data)
    if code != 250:
        end(code)
        raise smtplib.SMTPDataError(code, reply)


def retry_delay(attempt: int) -> timedelta:
    """Backoff after an unreachable mail server: RETRY_AFTER, doubling per attempt (settings can
    shorten RETRY_AFTER for tests: ``SEND_RETRY_AFTER_SECONDS``)."""
    from django.conf import settings

    base = getattr(settings, "SEND_RETRY_AFTER_SECONDS", None)
    if base is None and os.environ.get("SEND_RETRY_AFTER_SECONDS"):  # a worker started by a test
        base = float(os.environ["SEND_RETRY_AFTER_SECONDS"])
    first = timedelta(seconds=base) if base is not None else RETRY_AFTER
    return first * (2 ** max(attempt - 1, 0))
