"""Overdue cases alert the assignee, then the account's admins, once each (mail at the real SMTP sink)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import account_scope
from responses import cases, tasks
from responses.models import Case
from tests.cases.conftest import case_of
from tests.factories import MembershipFactory, UserFactory


def recipients(messages) -> list[str]:
    return sorted(m["To"] for m in messages)


def test_an_overdue_case_alerts_the_assignee_then_the_admins_once_each(acme, alice, carol, respond, smtp_sink,
                                                                       settings_row):
    owner = MembershipFactory(account=acme, user=UserFactory(username="olga@acme.example"), role=Role.OWNER).user
    with account_scope(acme):
        cases.create_routing_rule(account=acme, property_name="agent", property_value="carol", assignee=carol)
    case = case_of(respond(2, agent="carol", comment="Nobody called me back"))
    start = case.due_at + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        assert tasks.sweep_overdue_cases() == 1
        assert recipients(smtp_sink.wait_for(1)) == ["carol@acme.example"]
        assert "Nobody called me back" in smtp_sink.messages[0].get_content()
        tasks.sweep_overdue_cases()  # a second sweep: already alerted, nothing new
    assert len(smtp_sink.messages) == 1
    smtp_sink.clear()
    with time_machine.travel(case.due_at + timedelta(minutes=61), tick=False):
        tasks.sweep_overdue_cases()
        assert recipients(smtp_sink.wait_for(1)) == ["alice@acme.example, olga@acme.example"]
        assert tasks.sweep_overdue_cases() == 0  # fully escalated: the sweeper finds nothing
    assert len(smtp_sink.messages) == 1
    with account_scope(acme):
        case.refresh_from_db()
        assert case.escalation_level == 2
        assert [e.data["level"] for e in case.events.filter(kind="escalated")] == [1, 2]
    assert owner.email == "olga@acme.example"


def test_a_contacted_case_is_never_escalated(acme, alice, carol, respond, smtp_sink):
    case = case_of(respond(1))
    with account_scope(acme):
        cases.change_case_status(case=case, status=Case.Status.CONTACTED, by=carol, channel="phone")
        assert cases.escalate_overdue_cases(account=acme, now=timezone.now() + timedelta(days=3)) == 0
    assert smtp_sink.messages == []


def test_an_unassigned_overdue_case_goes_straight_to_the_admins(acme, alice, respond, smtp_sink, settings_row):
    case = case_of(respond(0))
    with account_scope(acme):
        cases.assign_case(case=case, by=alice)  # nobody
        assert cases.escalate_overdue_cases(account=acme, now=case.due_at + timedelta(seconds=1)) == 1
    assert recipients(smtp_sink.wait_for(1)) == ["alice@acme.example"]


def test_a_failed_alert_is_retried_by_the_next_sweep(acme, alice, respond, smtp_sink, settings):
    case = case_of(respond(0))
    settings.EMAIL_PORT = 1  # nothing listens there: the send fails
    with account_scope(acme):
        with pytest.raises(OSError):
            cases.escalate_overdue_cases(account=acme, now=case.due_at + timedelta(seconds=1))
        case.refresh_from_db()
        assert case.escalation_level == 0
        settings.EMAIL_PORT = smtp_sink.port
        assert cases.escalate_overdue_cases(account=acme, now=case.due_at + timedelta(seconds=1)) == 1
    assert recipients(smtp_sink.wait_for(1)) == ["alice@acme.example"]
