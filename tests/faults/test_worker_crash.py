"""A worker SIGKILLed mid-send (whole process group, then one pool child): nothing lost, nothing twice.

reliability.md 7.5: every invitation reaches a terminal state once the leases run out (the test moves
the dispatcher's clock past them instead of waiting), no ``X-Verbatim-Invitation`` arrives twice at
the SMTP sink, every ``sent`` arrived exactly once, and ``unknown`` (D1: the claim was committed,
whether the mail server took the message is not known) is at most the messages in flight at a kill:
one per pool process. Size: ``FAULT_INVITATIONS`` (default 2,000).
"""
from __future__ import annotations

import os
import signal

import pytest
from django.conf import settings

from surveys.services import run_dispatch_cycle
from surveys.tasks import send_invitations
from tests.faults.conftest import assert_nothing_lost, ledger, pool_children, recover, statuses, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]
COUNT = int(os.environ.get("FAULT_INVITATIONS", "2000"))


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_send_and_restarted_loses_and_duplicates_nothing(fault_worker, smtp_sink, seeded):
    account = seeded(COUNT)
    assert run_dispatch_cycle() == COUNT
    wait_until(lambda: len(smtp_sink.messages) >= COUNT // 4, f"{COUNT // 4} messages at the sink", timeout=180)
    fault_worker.kill(signal.SIGKILL)  # os.killpg: the parent and its pool children at once (F14)
    at_kill = len(smtp_sink.messages)
    assert at_kill < COUNT, "the worker finished before the kill: raise FAULT_INVITATIONS"

    fault_worker.start()
    recover(account, smtp_sink, fault_worker.queue)
    senders = fault_worker.concurrency * settings.SEND_LANES  # each lane of each pool child has one in flight
    outcome = assert_nothing_lost(account, smtp_sink, kills=1, in_flight_per_kill=senders)
    print(f"\nstates after recovery: {outcome}")
    assert outcome.get("sent", 0) >= COUNT - senders, outcome

    # The messages the killed worker had reserved are redelivered by Redis after the visibility
    # timeout: running those batches again now (here, in-process) sends nothing.
    before = sum(ledger(smtp_sink).values())
    send_invitations.apply(args=(account.pk, list(statuses(account)))).get()
    assert sum(ledger(smtp_sink).values()) == before


@pytest.mark.timeout(600)
def test_a_killed_pool_child_loses_and_duplicates_nothing(fault_worker, smtp_sink, seeded):
    count = max(COUNT // 2, 200)
    account = seeded(count)
    assert run_dispatch_cycle() == count
    wait_until(lambda: len(smtp_sink.messages) >= count // 4, "a quarter of the messages", timeout=180)
    [child, *_] = pool_children(fault_worker.proc.pid)
    os.kill(child, signal.SIGKILL)  # WorkerLostError: the parent acks the message and replaces the child

    wait_until(lambda: len(pool_children(fault_worker.proc.pid)) == fault_worker.concurrency
               and child not in pool_children(fault_worker.proc.pid), "the pool to replace the child", timeout=60)
    assert fault_worker.proc.poll() is None, "the worker parent died with its child"
    recover(account, smtp_sink, fault_worker.queue)
    outcome = assert_nothing_lost(account, smtp_sink, kills=1, in_flight_per_kill=settings.SEND_LANES)  # its lanes
    print(f"\nstates after recovery: {outcome}")
    assert outcome.get("sent", 0) >= count - settings.SEND_LANES, outcome


@pytest.mark.timeout(600)
def test_a_warm_shutdown_requeues_at_once_and_a_restart_sends_everything_once(fault_worker, smtp_sink, seeded):
    """SIGTERM to the worker parent: it finishes the running batches and hands the reserved messages
    back to Redis, so a restarted worker sends the rest at once: no lease has to run out."""
    count = max(COUNT // 2, 200)
    account = seeded(count)
    assert run_dispatch_cycle() == count
    wait_until(lambda: len(smtp_sink.messages) >= count // 4, "a quarter of the messages", timeout=180)
    os.kill(fault_worker.proc.pid, signal.SIGTERM)
    fault_worker.proc.wait(timeout=120)

    fault_worker.start()
    wait_until(lambda: set(statuses(account).values()) == {"sent"}, "every invitation sent", timeout=240,
               interval=0.5)
    outcome = assert_nothing_lost(account, smtp_sink, kills=0, in_flight_per_kill=0)
    print(f"\nstates after a warm shutdown: {outcome}")
    assert sum(ledger(smtp_sink).values()) == count
