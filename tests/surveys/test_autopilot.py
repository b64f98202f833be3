"""Autopilot: every matching person gets the survey once per period; new people join automatically."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import account_scope
from surveys import services
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_autopilot_schedules_the_segment_once_per_period_and_picks_up_new_people(survey, in_acme):
    pro = PersonFactory(account=in_acme, properties={"plan": "pro"})
    PersonFactory(account=in_acme, properties={"plan": "free"})
    services.set_autopilot(survey=survey, enabled=True, every_days=30, property_filter={"plan": "pro"})
    assert services.run_due_autopilots() == 1
    assert services.run_due_autopilots() == 0  # not due again for an hour
    newcomer = PersonFactory(account=in_acme, properties={"plan": "pro"})
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert services.run_due_autopilots() == 1
    assert sorted(survey.invitations.values_list("person_id", flat=True)) == sorted([pro.pk, newcomer.pk])
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert services.run_due_autopilots() == 2  # the next period


def test_a_disabled_autopilot_or_paused_survey_schedules_nothing(survey, in_acme):
    PersonFactory(account=in_acme)
    services.set_autopilot(survey=survey, enabled=False, every_days=30)
    assert services.run_due_autopilots() == 0
    services.set_autopilot(survey=survey, enabled=True, every_days=30)
    services.pause_survey(survey=survey)
    assert services.run_due_autopilots() == 0


def test_the_autopilot_form_on_the_survey_page(client, alice, survey, acme):
    client.force_login(alice)
    url = reverse("surveys:survey-autopilot", kwargs={"account": "acme", "pk": survey.pk})
    client.post(url, {"enabled": "on", "every_days": "180", "property_filter": '{"plan": "pro"}'})
    with account_scope(acme):
        assert survey.autopilot.every_days == 180 and survey.autopilot.property_filter == {"plan": "pro"}
    response = client.post(url, {"enabled": "on", "every_days": "0"})
    assert response.status_code == 302
    with account_scope(acme):
        survey.autopilot.refresh_from_db()
        assert survey.autopilot.every_days == 180


def test_mallory_cannot_set_acme_autopilot(client, mallory, survey, acme):
    client.force_login(mallory)
    url = reverse("surveys:survey-autopilot", kwargs={"account": "globex", "pk": survey.pk})
    assert client.post(url, {"enabled": "on", "every_days": "1"}).status_code == 404
    with account_scope(acme):
        assert not hasattr(survey, "autopilot") or survey.autopilot is None
