"""Fixtures for follow-up cases: an acme NPS survey, people, and a helper recording real responses."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope, cross_account
from responses.cases import case_settings
from responses.models import Case, CaseSettings
from responses.services import record_response
from tests.factories import PersonFactory, SurveyFactory


@pytest.fixture
def survey(acme):
    with cross_account():
        return SurveyFactory(account=acme, name="Main NPS")


@pytest.fixture
def settings_row(acme) -> CaseSettings:
    with account_scope(acme):
        return case_settings(acme)


@pytest.fixture
def respond(survey):
    """respond(score, person=None, comment="", **properties) -> the Response (through record_response)."""

    def _respond(score: int, *, person=None, comment: str = "", target=None, **properties):
        target = target or survey
        with account_scope(target.account):
            if person is None:
                person = PersonFactory(account=target.account)
            return record_response(survey=target, score=score, person=person, comment=comment or None,
                                   properties=properties, channel="link")

    return _respond


def case_of(response) -> Case | None:
    with account_scope(response.account):
        return Case.objects.filter(response=response).select_related("assignee").first()
