"""Helpers of the integrations tests: record responses the real way, run the sweeper, verify signatures."""
from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from accounts.scoping import account_scope
from integrations import tasks
from integrations.models import Delivery
from responses.services import record_response
from tests.factories import PersonFactory, SurveyFactory

# Detractor responses may also open a case (case.created): tests that count deliveries subscribe to these.
RESPONSE_EVENTS = ["response.created", "response.updated"]


@pytest.fixture
def survey(acme):
    return SurveyFactory(account=acme, name="Onboarding NPS")


@pytest.fixture
def record(django_capture_on_commit_callbacks):
    """Record a response through the real service; commit callbacks (fan-out, delivery) run eagerly."""

    def _record(survey, score, comment=None, person=None, properties=None, **person_fields):
        with account_scope(survey.account):
            if person is None:
                person = PersonFactory(account=survey.account, **person_fields)
            with django_capture_on_commit_callbacks(execute=True):
                return record_response(survey=survey, score=score, comment=comment, person=person,
                                       properties=properties)

    return _record


@pytest.fixture
def run_sweeper(django_capture_on_commit_callbacks):
    """Run the minute sweeper once (eager: the deliveries it enqueues run in this process)."""

    def _sweep():
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.sweep()

    return _sweep


def deliveries(account, **filters):
    with account_scope(account):
        return list(Delivery.objects.filter(**filters).order_by("pk"))


def verify(secret: str, request) -> dict:
    """Verify a received request with the independent ``standardwebhooks`` package; return the body."""
    body = request.get_data()
    headers = {k.lower(): v for k, v in request.headers.items()}
    Webhook(secret).verify(body, headers)
    return json.loads(body)
