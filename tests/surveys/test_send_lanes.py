"""Send lanes (SEND_LANES): one claimed batch goes out over several threads, each with its own
database and SMTP connection, so their durable ``sending`` commits share WAL flushes.

Each lane keeps D1 per message: ``sending`` is committed before the mail server sees the message
(checked by a sink that reads the row over its own database connection when the message arrives),
every invitation goes out once, and a lane that dies leaves its rows as a dead one-lane batch would.
"""
from __future__ import annotations

import smtplib
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation
from surveys.services import sending
from tests.conftest import free_port
from tests.factories import PersonFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


def database_dsn() -> str:
    db = django_settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(dbname=db["NAME"], host=db.get("HOST") or "", port=db.get("PORT") or "",
                                          user=db.get("USER") or "", password=db.get("PASSWORD") or "")


class CommittedStateSink:
    """An SMTP sink that, when a message's DATA arrives, reads its invitation's row over its own
    database connection: what it sees is what was committed before the mail server had the message."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []  # (invitation id, committed status at DATA)
        self.peers: set = set()
        self.refuse: set[str] = set()
        self.on_data = lambda pk: None
        self.lock = threading.Lock()
        self.db = psycopg.connect(database_dsn(), autocommit=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        header = next(line for line in envelope.content.split(b"\r\n") if line.startswith(b"X-Verbatim-Invitation:"))
        pk = int(header.split(b":", 1)[1])
        with self.lock:
            row = self.db.execute("SELECT status FROM surveys_invitation WHERE id = %s", (pk,)).fetchone()
            self.seen.append((pk, row[0] if row else "not committed"))
            self.peers.add(session.peer)
        self.on_data(pk)
        return "250 accepted"

    def ids(self) -> list[int]:
        with self.lock:
            return [pk for pk, _status in self.seen]


@pytest.fixture
def committed_sink(settings):
    sink = CommittedStateSink()
    sink.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield sink
    sink.controller.stop()
    sink.db.close()


def schedule(survey, count: int) -> list[Invitation]:
    people = [PersonFactory(account=survey.account, email=f"lane{i}@example.com") for i in range(count)]
    return [services.schedule_invitation(survey=survey, person=p) for p in people]


def statuses(ids: list[int]) -> dict[int, str]:
    with cross_account():
        return dict(Invitation.objects.filter(pk__in=ids).values_list("pk", "status"))


def test_four_lanes_send_every_invitation_once_each_committed_sending_first(
        transactional_db, committed_sink, survey, in_acme, settings):
    settings.SEND_LANES = 4
    ids = [i.pk for i in schedule(survey, 41)]
    counts = services.send_invitations(account=survey.account, invitation_ids=ids)
    assert counts == {"sent": 41}
    assert sorted(committed_sink.ids()) == sorted(ids)  # each exactly once
    assert {status for _pk, status in committed_sink.seen} == {"sending"}  # D1, in every lane
    assert len(committed_sink.peers) == 4  # one SMTP connection per lane
    assert set(statuses(ids).values()) == {"sent"}
    with cross_account():
        assert Invitation.objects.filter(pk__in=ids, esp_message_id="").count() == 0


def test_a_duplicate_task_running_at_the_same_time_sends_nothing_twice(
        transactional_db, committed_sink, survey, in_acme, settings):
    settings.SEND_LANES = 3
    ids = [i.pk for i in schedule(survey, 30)]
    results: list[dict] = []

    def task() -> None:
        with account_scope(survey.account):
            results.append(services.send_invitations(account=survey.account, invitation_ids=ids))
        connection.close()

    threads = [threading.Thread(target=task) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(committed_sink.ids()) == sorted(ids)
    assert sum(r.get("sent", 0) for r in results) == 30
    assert set(statuses(ids).values()) == {"sent"}


def test_inside_a_transaction_the_batch_goes_out_in_one_lane(committed_sink, survey, in_acme, settings):
    """A lane's own connection could not see an uncommitted claim: in a transaction, one lane."""
    settings.SEND_LANES = 4
    ids = [i.pk for i in schedule(survey, 5)]
    assert services.send_invitations(account=survey.account, invitation_ids=ids) == {"sent": 5}
    assert len(committed_sink.peers) == 1


def wait_for_a_lane_blocked_on(lock_holder_pid: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [lock_holder_pid])
            row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError("no lane waited on the locked row")


def test_a_lane_that_dies_leaves_its_rows_unknown_or_scheduled_and_the_others_finish(
        transactional_db, committed_sink, survey, in_acme, settings):
    """One lane's database connection is killed while it waits to mark its second row ``sending``
    (the sink locked that row from another connection when the lane's first message arrived). The
    other lanes send all of theirs; the dead lane's first message, whose ``sent`` mark died with the
    statement, stays ``sending`` and becomes ``unknown`` (never resent); its rows the sink never saw
    stay ``scheduled`` under the claim and go out once the lease runs out."""
    settings.SEND_LANES = 3
    invitations = schedule(survey, 12)
    ids = [i.pk for i in invitations]
    dead_lane = ids[1::3]  # lane 1 of 3 (round robin)
    victim = invitations[4]  # that lane's second row
    outcome: dict = {}
    locker = psycopg.connect(database_dsn())

    def lock_the_victim(pk: int) -> None:
        if pk == dead_lane[0]:
            locker.execute("SELECT id FROM surveys_invitation WHERE id = %s AND account_id = %s FOR UPDATE",
                           (victim.pk, survey.account_id))

    committed_sink.on_data = lock_the_victim

    def task() -> None:
        try:
            with account_scope(survey.account):
                outcome["counts"] = services.send_invitations(account=survey.account, invitation_ids=ids)
        except Exception as exc:  # the dead lane's error, raised after the others ended
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=task)
    thread.start()
    try:
        lane_pid = wait_for_a_lane_blocked_on(locker.info.backend_pid)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [lane_pid])
    finally:
        locker.rollback()
        locker.close()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), Exception)

    seen = committed_sink.ids()
    assert len(seen) == len(set(seen))
    assert {status for _pk, status in committed_sink.seen} == {"sending"}
    after = statuses(ids)
    assert all(after[pk] == "sent" for pk in ids if pk not in dead_lane)  # the other lanes finished
    assert [pk for pk in dead_lane if pk in seen] == [dead_lane[0]]
    assert [after[pk] for pk in dead_lane] == ["sending", "scheduled", "scheduled", "scheduled"]

    # Time passes: the sweeper and the dispatcher do their part; nothing the sink has goes out again.
    with cross_account():
        Invitation.objects.filter(pk__in=ids).exclude(status="sent").update(
            lease_until=timezone.now() - timedelta(seconds=1))
    sent_again = services.dispatch_due(enqueue=lambda account_id, batch, attempt: services.send_invitations(
        account=survey.account, invitation_ids=batch, attempt_id=attempt))
    final = statuses(ids)
    assert sorted(committed_sink.ids()) == sorted(ids)  # every invitation reached the sink exactly once
    assert sent_again == 3
    assert [pk for pk in ids if final[pk] != "sent"] == [dead_lane[0]] and final[dead_lane[0]] == "unknown"


@pytest.mark.parametrize("address", ["ann@example.com", "Ann.Smith@Example.COM", "o'neil+tag@mail.example.co.uk",
                                     "a_b-c=d!e#f$g%h&i*j/k?l^m`n{o|p}q~r@example.org"])
def test_a_plain_address_is_quoted_as_smtplib_quotes_it(address):
    named = "Bench Co <feedback@bench.example>"
    assert sending._quoted(address) == smtplib.quoteaddr(address)
    assert sending._quoted(named) == smtplib.quoteaddr(named)


def test_the_lean_sendmail_sends_what_smtplib_sends_and_refuses_as_it_does(committed_sink, survey, in_acme):
    [invitation] = schedule(survey, 1)
    data = b"X-Verbatim-Invitation: %d\r\nSubject: hi\r\n\r\nbody\r\n" % invitation.pk
    envelopes = []

    async def handle_MAIL(server, session, envelope, address, options):  # noqa: N802
        envelopes.append((address, options))
        envelope.mail_from = address
        return "250 OK"

    committed_sink.handle_MAIL = handle_MAIL
    with smtplib.SMTP("127.0.0.1", committed_sink.controller.port) as smtp:
        smtp.sendmail("Acme <feedback@acme.example>", ["ann@example.com"], data)
        sending.smtp_sendmail(smtp, "Acme <feedback@acme.example>", ["ann@example.com"], data)
        committed_sink.refuse.add("nobody@example.com")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as theirs:
            smtp.sendmail("feedback@acme.example", ["nobody@example.com"], data)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ours:
            sending.smtp_sendmail(smtp, "feedback@acme.example", ["nobody@example.com"], data)
        assert ours.value.recipients == theirs.value.recipients
        sending.smtp_sendmail(smtp, "feedback@acme.example", ["ann@example.com"], data)  # the envelope was reset
    assert envelopes[0] == envelopes[1] and envelopes[0][0] == "feedback@acme.example"  # SIZE too
    assert len(committed_sink.seen) == 3
