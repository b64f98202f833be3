"""Autopilot memberships drive recurring sends: one survey now, then one every ``frequency`` until removed.

The schedule lives in rows (``AutopilotMembership.next_send_at`` + invitation dedupe keys); the beat
cycle ``schedule_due_autopilot_sends`` is called here with time shifted by time_machine, and the real
dispatcher sends through the SMTP sink and applies the throttle.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import account_scope
from config.celery import app
from integrations.delighted import services
from integrations.delighted.models import AutopilotMembership
from surveys import services as survey_services
from surveys.models import Autopilot, Invitation
from tests.api.test_delighted_wire import call
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def autopilot(acme, acme_key):
    with account_scope(acme):
        survey = services.survey_for_key(acme.api_keys.get())
        return Autopilot.objects.create(account=acme, survey=survey, every_days=30)


def dispatch() -> None:
    """One dispatcher pass, sending in this process (to the SMTP sink)."""
    survey_services.dispatch_due(enqueue=lambda account_id, ids, attempt: survey_services.send_invitations(
        account=Account.objects.get(pk=account_id), invitation_ids=ids, attempt_id=attempt))


def invitations(acme, email: str) -> list[tuple[str, str]]:
    with account_scope(acme):
        return list(Invitation.objects.filter(person__email=email).order_by("created_at", "id")
                    .values_list("dedupe_key", "status"))


def join(client, key: str, email: str = "member@example.com", platform: str = "email"):
    response = call(client, "POST", f"/v1/autopilot/{platform}/memberships", key,
                    data={"person_email": email, "properties": {"plan": "pro"}})
    assert response.status_code == 200, response.content
    return response


def test_a_member_is_surveyed_now_and_again_every_frequency_until_removed(client, acme, acme_key, autopilot,
                                                                           smtp_sink):
    start = timezone.now()
    join(client, acme_key)
    dispatch()
    assert invitations(acme, "member@example.com") == [(f"autopilot:{member_pk(acme)}:0", "sent")]
    assert services.schedule_due_autopilot_sends() == 0  # not due for 30 days

    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert services.schedule_due_autopilot_sends() == 0
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert services.schedule_due_autopilot_sends() == 1
        assert services.schedule_due_autopilot_sends() == 0  # idempotent: the round is taken
        dispatch()
    pk = member_pk(acme)
    assert invitations(acme, "member@example.com") == [(f"autopilot:{pk}:0", "sent"), (f"autopilot:{pk}:1", "sent")]
    assert len(smtp_sink.messages) == 2
    with account_scope(acme):
        second = Invitation.objects.get(dedupe_key=f"autopilot:{pk}:1")
    assert second.properties == {"plan": "pro"}  # the membership's properties ride along

    with time_machine.travel(start + timedelta(days=62), tick=False):
        assert services.schedule_due_autopilot_sends() == 1  # the third, not sent yet...
        response = call(client, "DELETE", "/v1/autopilot/email/memberships", acme_key,
                        data={"person_email": "member@example.com"})
        assert response.status_code == 200
    assert invitations(acme, "member@example.com")[-1] == (f"autopilot:{pk}:2", "cancelled")  # ...cancelled
    with time_machine.travel(start + timedelta(days=400), tick=False):
        assert services.schedule_due_autopilot_sends() == 0
    assert len(invitations(acme, "member@example.com")) == 3


def member_pk(acme) -> int:
    with account_scope(acme):
        return AutopilotMembership.objects.get(person__email="member@example.com").pk


def test_the_next_survey_waits_until_the_previous_one_is_sent(client, acme, acme_key, autopilot):
    start = timezone.now()
    join(client, acme_key)  # scheduled, never dispatched
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert services.schedule_due_autopilot_sends() == 0
        with account_scope(acme):
            membership = AutopilotMembership.objects.get()
        assert membership.sends_scheduled == 1
        assert membership.next_send_at == timezone.now() + services.AUTOPILOT_RECHECK
    assert len(invitations(acme, "member@example.com")) == 1


def test_a_throttled_recurring_send_is_skipped_by_the_dispatcher_not_by_the_schedule(client, acme, acme_key,
                                                                                     autopilot, smtp_sink):
    Account.objects.filter(pk=acme.pk).update(throttle_days=90)  # longer than the 30-day frequency
    start = timezone.now()
    join(client, acme_key)
    dispatch()
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert services.schedule_due_autopilot_sends() == 1
        dispatch()
    statuses = [status for _key, status in invitations(acme, "member@example.com")]
    assert statuses == ["sent", "skipped_throttled"]
    assert len(smtp_sink.messages) == 1
    with time_machine.travel(start + timedelta(days=63), tick=False):  # the schedule goes on
        assert services.schedule_due_autopilot_sends() == 1


def test_two_cycles_racing_on_the_same_member_schedule_one_invitation(client, acme, acme_key, autopilot, smtp_sink):
    start = timezone.now()
    join(client, acme_key)
    dispatch()
    with account_scope(acme):
        stale = AutopilotMembership.objects.select_related("survey", "person").get()
    with time_machine.travel(start + timedelta(days=31), tick=False), account_scope(acme):
        assert services.schedule_next_autopilot_send(membership=stale) is not None
        assert services.schedule_next_autopilot_send(membership=stale) is None  # same round: claimed
    assert len(invitations(acme, "member@example.com")) == 2


def test_a_paused_autopilot_schedules_nothing_and_looks_again_later(client, acme, acme_key, autopilot, smtp_sink):
    start = timezone.now()
    join(client, acme_key)
    dispatch()
    with account_scope(acme):
        Autopilot.objects.filter(pk=autopilot.pk).update(enabled=False)
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert services.schedule_due_autopilot_sends() == 0
    with account_scope(acme):
        Autopilot.objects.filter(pk=autopilot.pk).update(enabled=True)
    with time_machine.travel(start + timedelta(days=32), tick=False):
        assert services.schedule_due_autopilot_sends() == 1


def test_members_of_globex_are_scheduled_in_globex(client, acme, globex, acme_key, globex_key, smtp_sink):
    for account in (acme, globex):
        with account_scope(account):
            Autopilot.objects.create(account=account, survey=services.survey_for_key(account.api_keys.get()),
                                     every_days=30)
    start = timezone.now()
    join(client, acme_key, "a@example.com")
    join(client, globex_key, "g@example.com")
    dispatch()
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert services.schedule_due_autopilot_sends() == 2
    with account_scope(globex):
        assert sorted(Invitation.objects.values_list("person__email", flat=True)) == ["g@example.com"] * 2
        assert Invitation.objects.filter(account=globex).count() == 2


def test_the_beat_runs_the_cycle_every_minute():
    assert app.conf.beat_schedule["delighted-autopilot-sends"] == {"task": "delighted.schedule_autopilot_sends",
                                                                   "schedule": 60.0}


def test_the_rest_api_enrols_and_removes_members_and_mallory_sees_none(client, acme, acme_key, globex_key,
                                                                        autopilot):
    with account_scope(acme):
        person = PersonFactory(account=acme, email="rest@example.com")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {acme_key}"}
    created = client.post("/api/v1/autopilot_memberships", json.dumps(
        {"survey": autopilot.survey_id, "person": person.pk, "properties": {"plan": "pro"}}),
        content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    assert created.json()["sends_scheduled"] == 1 and created.json()["next_send_at"]
    assert invitations(acme, "rest@example.com") == [(f"autopilot:{created.json()['id']}:0", "scheduled")]

    member_url = f"/api/v1/autopilot_memberships/{created.json()['id']}"
    assert client.get(member_url, HTTP_AUTHORIZATION=f"Bearer {globex_key}").status_code == 404
    assert client.delete(member_url, HTTP_AUTHORIZATION=f"Bearer {globex_key}").status_code == 404
    assert client.delete(member_url, **headers).status_code == 204
    assert invitations(acme, "rest@example.com") == [(f"autopilot:{created.json()['id']}:0", "cancelled")]


def test_enrolling_in_a_survey_without_autopilot_is_a_400_and_writes_nothing(client, acme, acme_key):
    with account_scope(acme):
        person = PersonFactory(account=acme)
        survey = services.survey_for_key(acme.api_keys.get())
    response = client.post("/api/v1/autopilot_memberships", json.dumps({"survey": survey.pk, "person": person.pk}),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {acme_key}")
    assert response.status_code == 400 and "platform_id" in response.json()["errors"]
    with account_scope(acme):
        assert not AutopilotMembership.objects.exists() and not Invitation.objects.exists()
