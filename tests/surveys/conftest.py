"""Fixtures of the surveys tests: a survey of acme's and people to send it to."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope
from tests.factories import PersonFactory, SurveyFactory


@pytest.fixture
def survey(acme):
    return SurveyFactory(account=acme, name="NPS", email_subject="Quick question from {{company}}")


@pytest.fixture
def person(acme):
    return PersonFactory(account=acme, email="ann@example.com", name="Ann", properties={"plan": "pro"})


@pytest.fixture
def in_acme(acme):
    with account_scope(acme):
        yield acme
