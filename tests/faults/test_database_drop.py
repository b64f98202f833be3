"""PostgreSQL drops the worker's connections in the middle of a send batch: no email twice afterwards.

The worker connects with ``application_name = 'verbatim-worker'`` (``DB_APPLICATION_NAME``); the test
terminates those backends of THIS test database only (other sessions share the server) three times
while invitations go out, then lets the dispatcher recover the interrupted batches.
"""
from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from surveys.services import run_dispatch_cycle
from tests.faults.conftest import assert_nothing_lost, recover, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]
COUNT = int(os.environ.get("FAULT_INVITATIONS", "2000")) // 2
DROPS = 3


def terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE application_name = 'verbatim-worker' AND datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.timeout(600)
def test_dropped_database_connections_mid_batch_send_no_email_twice(fault_worker, smtp_sink, seeded):
    account = seeded(COUNT)
    assert run_dispatch_cycle() == COUNT
    terminated = 0
    for step in range(1, DROPS + 1):
        wait_until(lambda step=step: len(smtp_sink.messages) >= step * COUNT // (DROPS + 2),
                   f"{step * COUNT // (DROPS + 2)} messages", timeout=180)
        terminated += terminate_worker_connections()
    assert terminated >= 1, "no worker connection was open to terminate"
    assert fault_worker.proc.poll() is None, "the worker process died with its database connection"

    recover(account, smtp_sink, fault_worker.queue)
    senders = fault_worker.concurrency * settings.SEND_LANES  # each lane of each pool child has one in flight
    outcome = assert_nothing_lost(account, smtp_sink, kills=DROPS, in_flight_per_kill=senders)
    print(f"\nstates after recovery: {outcome}")
    assert outcome.get("sent", 0) >= COUNT - DROPS * senders, outcome
