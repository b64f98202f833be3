"""EM-21 crash window, with the worker's own fault hooks (``VERBATIM_FAULT``, read once at import).

``after_smtp_accept``: the pool process exits (137) after the SMTP sink accepted the message and
before ``sent`` is committed. The row stays ``sending``; once its lease runs out it becomes
``unknown`` and is not sent again: the sink holds exactly one copy (D1: at most once).

``before_smtp``: the pool process exits after the message's claim is committed and before it is
marked ``sending`` or anything reaches the sink. Once the claim's lease runs out the dispatcher
hands it out again and a healthy worker sends it: exactly one copy.
"""
from __future__ import annotations

import signal
import uuid

import pytest

from accounts.scoping import account_scope
from config.celery import app as celery_app
from surveys.models import Invitation
from surveys.services import run_dispatch_cycle
from tests.conftest import WorkerProcess
from tests.faults.conftest import assert_nothing_lost, ledger, recover, wait_quiet, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]


@pytest.fixture
def hooked_worker(worker_env, transactional_db, smtp_sink, settings):
    """``start(fault)``: a real Celery worker on this test's own queue, with ``VERBATIM_FAULT=fault``."""
    queue = f"hooks-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    workers: list[WorkerProcess] = []

    def start(fault: str = "") -> WorkerProcess:
        env = {**worker_env, "CELERY_QUEUE": queue, "VERBATIM_FAULT": fault}
        worker = WorkerProcess(queue, env, concurrency=1)
        worker.start()
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.kill(signal.SIGKILL)
        celery_app.conf.task_default_queue = previous
        celery_app.conf.task_always_eager = True
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


def the_row(account) -> Invitation:
    with account_scope(account):
        return account.invitations.get()


def child_exited_137(worker: WorkerProcess) -> bool:
    return "exitcode 137" in worker.log.read_text(errors="replace")


@pytest.mark.timeout(300)
def test_a_crash_after_the_sink_accepted_leaves_one_copy_and_an_unknown_row(hooked_worker, smtp_sink, seeded):
    worker = hooked_worker("after_smtp_accept")
    account = seeded(1)
    assert run_dispatch_cycle() == 1
    smtp_sink.wait_for(1, timeout=60)
    wait_until(lambda: child_exited_137(worker), "the pool process to exit with 137", timeout=60)
    row = the_row(account)
    assert row.status == Invitation.Status.SENDING  # the claim and mark committed, ``sent`` never was
    assert worker.proc.poll() is None  # the parent lives on and replaced its child

    recover(account, smtp_sink, worker.queue)  # the lease runs out: the sweeper's verdict
    row = the_row(account)
    assert row.status == Invitation.Status.UNKNOWN
    assert "not resent" in row.failure_reason
    run_dispatch_cycle()  # and later cycles leave it alone
    wait_quiet(smtp_sink, worker.queue)
    assert ledger(smtp_sink) == {row.pk: 1}
    assert_nothing_lost(account, smtp_sink, kills=1, in_flight_per_kill=1)


@pytest.mark.timeout(300)
def test_a_crash_after_the_claim_before_smtp_is_sent_once_after_the_lease(hooked_worker, smtp_sink, seeded):
    faulty = hooked_worker("before_smtp")
    account = seeded(1)
    assert run_dispatch_cycle() == 1
    wait_until(lambda: child_exited_137(faulty), "the pool process to exit with 137", timeout=60)
    row = the_row(account)
    assert row.status == Invitation.Status.SCHEDULED and row.attempt_id is not None  # claimed, nothing sent
    assert row.attempts == 0 and row.token_hash is None
    assert smtp_sink.messages == []
    run_dispatch_cycle()  # its claim's lease has not run out: not handed out again yet
    assert the_row(account).attempt_id == row.attempt_id

    faulty.kill(signal.SIGKILL)
    healthy = hooked_worker("")
    recover(account, smtp_sink, healthy.queue)  # past the lease: handed out again, sent by the healthy worker
    row = the_row(account)
    assert row.status == Invitation.Status.SENT and row.attempts == 1
    assert ledger(smtp_sink) == {row.pk: 1}
    assert_nothing_lost(account, smtp_sink, kills=1, in_flight_per_kill=0)
