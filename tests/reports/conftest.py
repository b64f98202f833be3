"""Helpers for report tests: responses recorded through the real service at chosen moments."""
from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from accounts.scoping import account_scope
from responses.services import record_response
from tests.factories import SurveyFactory


def answer(survey, score: int, *, at: datetime | None = None, comment: str = "", properties: dict | None = None,
           locale: str = "en", tags: list | None = None):
    """Record one response through responses.services (rollups included), optionally at a moment."""
    with account_scope(survey.account):
        if at is None:
            response = record_response(survey=survey, score=score, comment=comment, channel="link",
                                       properties=properties or {}, locale=locale)
        else:
            with time_machine.travel(at, tick=False):
                response = record_response(survey=survey, score=score, comment=comment, channel="link",
                                           properties=properties or {}, locale=locale)
        if tags:
            type(response).objects.filter(pk=response.pk).update(tags=tags)
    return response


@pytest.fixture
def nps_survey(acme):
    return SurveyFactory(account=acme, name="Relationship NPS", is_default=True)
