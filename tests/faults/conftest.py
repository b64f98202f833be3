"""Fault-injection helpers: a worker of our own to kill and restart, seeded invitations, the sink's ledger.

Every fault test is marked ``faults`` (outside the default suite: ``pytest -m faults tests/faults``),
uses the real PostgreSQL test database, Redis from ``REDIS_URL`` and the session SMTP sink, and
restores whatever it breaks in a ``finally``.
"""
from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from accounts.scoping import account_scope, cross_account
from config.celery import app as celery_app
from surveys.models import Invitation, Person
from surveys.services import run_dispatch_cycle
from surveys.services.sending import DISPATCH_LEASE, SEND_LEASE
from tests.conftest import WorkerProcess
from tests.factories import AccountFactory, SurveyFactory

TERMINAL = {Invitation.Status.SENT, Invitation.Status.FAILED, Invitation.Status.UNKNOWN,
            Invitation.Status.SKIPPED_THROTTLED, Invitation.Status.SKIPPED_SUPPRESSED,
            Invitation.Status.SKIPPED_PAUSED, Invitation.Status.SKIPPED_QUOTA, Invitation.Status.CANCELLED}


def wait_until(predicate, what: str, timeout: float = 60, interval: float = 0.1):
    """Poll ``predicate`` (bounded) until it returns something truthy; its value is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def pool_children(pid: int) -> list[int]:
    """The prefork pool processes of a celery worker (no psutil needed: /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.fixture
def fault_worker(worker_env, transactional_db, smtp_sink, settings):
    """A real Celery worker on a queue of its own, for this test only: kill it, restart it."""
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    env = {**worker_env, "CELERY_QUEUE": queue}
    previous = celery_app.conf.task_default_queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    worker = WorkerProcess(queue, env, concurrency=2)
    worker.start()
    try:
        yield worker
    finally:
        worker.kill(signal.SIGKILL)
        celery_app.conf.task_default_queue = previous
        celery_app.conf.task_always_eager = True
        with celery_app.connection_for_write() as conn:  # drop what this test left queued
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def seeded():
    """``seeded(n)``: an account and an NPS survey with ``n`` due email invitations; returns the account."""

    def make(n: int):
        account = AccountFactory(name="Faulty", slug=f"faulty-{uuid.uuid4().hex[:6]}",
                                 sender_email="feedback@faulty.example", throttle_days=0)
        with account_scope(account):
            survey = SurveyFactory(account=account, name="Fault NPS")
            people = Person.objects.bulk_create(
                [Person(account=account, email=f"p{i}@faulty.example", name=f"P{i}") for i in range(n)],
                batch_size=2000)
            Invitation.objects.bulk_create(
                [Invitation(account=account, survey=survey, person=p, scheduled_at=timezone.now() - timedelta(
                    seconds=1)) for p in people], batch_size=2000)
        return account

    return make


def ledger(sink) -> Counter:
    """How many copies of each invitation id the SMTP sink received."""
    return Counter(int(m["X-Verbatim-Invitation"]) for m in list(sink.messages))


def statuses(account) -> dict[int, str]:
    with account_scope(account):
        return dict(account.invitations.values_list("pk", "status"))


def queue_length(queue: str) -> int:
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.client.llen(queue)


def wait_quiet(sink, queue: str, timeout: float = 120) -> None:
    """Until the queue is empty and the sink has received nothing for 3 s."""
    state = {"count": -1, "since": time.monotonic()}

    def quiet() -> bool:
        count = len(sink.messages)
        if count != state["count"]:
            state.update(count=count, since=time.monotonic())
            return False
        return queue_length(queue) == 0 and time.monotonic() - state["since"] > 3

    wait_until(quiet, "the worker to go quiet", timeout=timeout, interval=0.25)


def recover(account, sink, queue: str, timeout: float = 180) -> None:
    """What the beat's dispatcher does once the leases of a crashed worker run out, without waiting
    5-10 real minutes: run its cycle with this process's clock moved past both leases. Sends still
    in flight in the live worker carry real-clock leases, so wait for quiet first."""
    wait_quiet(sink, queue)
    with time_machine.travel(timezone.now() + max(SEND_LEASE, DISPATCH_LEASE) + timedelta(seconds=5), tick=True):
        run_dispatch_cycle()

    def all_terminal() -> bool:
        return set(statuses(account).values()) <= TERMINAL

    wait_until(all_terminal, "every invitation to reach a terminal state", timeout=timeout, interval=0.5)
    wait_quiet(sink, queue)


def assert_nothing_lost(account, sink, *, kills: int, in_flight_per_kill: int) -> dict[str, int]:
    """reliability.md 7.5 items 2 and 3: terminal states, no duplicate, every ``sent`` exactly once."""
    rows = statuses(account)
    copies = ledger(sink)
    by_status = Counter(rows.values())
    assert set(by_status) <= TERMINAL, by_status
    duplicated = {pk: n for pk, n in copies.items() if n > 1}
    assert duplicated == {}, f"invitations emailed more than once: {duplicated}"
    sent = [pk for pk, status in rows.items() if status == Invitation.Status.SENT]
    missing = [pk for pk in sent if copies[pk] != 1]
    assert missing == [], f"{len(missing)} invitations marked sent never arrived: {missing[:10]}"
    assert set(copies) <= set(rows), "mail for an invitation that does not exist"
    assert by_status[Invitation.Status.UNKNOWN] <= kills * in_flight_per_kill, by_status
    with cross_account():  # the sweeper view: nothing left claimable or claimed
        assert not Invitation.objects.filter(account=account, status__in=["scheduled", "sending"]).exists()
    return dict(by_status)


__all__ = ["assert_nothing_lost", "ledger", "pool_children", "recover", "statuses", "wait_quiet", "wait_until"]
