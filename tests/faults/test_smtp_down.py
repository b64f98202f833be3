"""The SMTP server down while invitations are due (reliability.md 7.5, "SMTP sink down").

The aiosmtpd controller is stopped; a real worker tries, finds the server unreachable, and puts the
rows back with a growing backoff (attempts counted, nothing marked sent, no throttle spent). After
the server is back each invitation is sent exactly once. The dispatcher's clock is moved past each
backoff instead of waiting minutes (the rows hold the schedule, so that is all the wait is).
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.scoping import account_scope
from surveys.models import Invitation
from surveys.services import run_dispatch_cycle
from tests.faults.conftest import assert_nothing_lost, ledger, statuses, wait_quiet, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]
COUNT = 30


def restart(sink) -> None:
    """Start the session's sink again on its port (a stopped aiosmtpd Controller has closed its loop)."""
    sink.controller.loop = asyncio.new_event_loop()
    sink.controller.start()


def rows(account) -> list[Invitation]:
    with account_scope(account):
        return list(account.invitations.order_by("pk"))


def settled(account) -> bool:
    """The worker is done with its batch: nothing sending or claimed, at least one attempt made."""
    current = rows(account)
    return (all(r.status == Invitation.Status.SCHEDULED and r.attempt_id is None for r in current)
            and any(r.attempts for r in current))


@pytest.mark.timeout(400)
def test_invitations_due_while_the_smtp_server_is_down_are_sent_once_after_it_returns(
        fault_worker, smtp_sink, seeded):
    account = seeded(COUNT)
    smtp_sink.controller.stop()
    try:
        assert run_dispatch_cycle() == COUNT
        wait_until(lambda: settled(account), "the worker to give the batch back", timeout=120)
        first = rows(account)
        failed = [r for r in first if r.attempts]
        assert len(failed) == min(settings.SEND_LANES, COUNT)  # each lane stops at its first refused connection
        assert "mail server unreachable" in failed[0].failure_reason
        first_backoff = failed[0].lease_until - timezone.now()
        assert all(r.lease_until is not None and r.lease_until > timezone.now() for r in first)
        assert smtp_sink.messages == []

        run_dispatch_cycle()  # the backoff holds: nothing handed out again yet
        assert [r.attempts for r in rows(account)] == [r.attempts for r in first]

        # Still down at the next attempt: the same row fails again and waits longer.
        with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
            assert run_dispatch_cycle() == COUNT
        wait_until(lambda: settled(account) and max(r.attempts for r in rows(account)) == 2,
                   "the second attempt", timeout=120)
        again = next(r for r in rows(account) if r.pk == failed[0].pk)
        assert again.attempts == 2
        assert again.lease_until - timezone.now() > first_backoff  # exponential backoff
        with account_scope(account):
            assert not account.people.filter(last_surveyed_at__isnull=False).exists()  # throttle given back
    finally:
        restart(smtp_sink)

    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        assert run_dispatch_cycle() == COUNT
    wait_until(lambda: set(statuses(account).values()) == {"sent"}, "every invitation sent", timeout=180)
    wait_quiet(smtp_sink, fault_worker.queue)
    outcome = assert_nothing_lost(account, smtp_sink, kills=0, in_flight_per_kill=0)
    assert outcome == {"sent": COUNT}
    assert sorted(ledger(smtp_sink).values()) == [1] * COUNT
