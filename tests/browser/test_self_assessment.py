"""An agent records a self-assessment on a phone and sees it beside their customers' score."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts.scoping import account_scope
from reports.models import SelfAssessment
from tests.browser.conftest import shot
from tests.factories import MembershipFactory, SurveyFactory, UserFactory
from tests.reports.conftest import answer


@pytest.fixture
def agent_login(transactional_db, live_server, acme):
    user = MembershipFactory(account=acme, user=UserFactory(username="ana@acme.example"), role="member").user
    survey = SurveyFactory(account=acme, name="Support NPS", is_default=True)
    for score in (10, 6):
        answer(survey, score, properties={"agent": "Ana"})
    client = Client()
    client.force_login(user)
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]


def test_an_agent_records_a_self_assessment_on_a_phone_and_sees_the_gap(phone_page, agent_login, acme):
    page = phone_page
    page.context.add_cookies(agent_login)
    page.goto("/app/acme/reports/agents/")
    page.get_by_role("link", name="Record a self-assessment").click()
    page.get_by_label("Agent").fill("Ana")
    page.get_by_label("Score").fill("11")
    page.get_by_role("button", name="Record").click()
    assert page.get_by_role("alert").filter(has_text="0 to 10").is_visible()
    page.get_by_label("Score").fill("9")
    page.get_by_label("Interaction (optional)").fill("T-7")
    page.get_by_role("button", name="Record").click()
    page.wait_for_url("**/reports/agents/")
    table = page.get_by_test_id("self-assessment-table")
    assert table.get_by_role("rowheader", name="Ana").is_visible()
    assert table.get_by_test_id("gap").inner_text() == "+1.00"  # self 9 vs customers (10 + 6) / 2 = 8
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    shot(page, "reports-self-assessment-phone")
    with account_scope(acme):
        assert SelfAssessment.objects.get().interaction == "T-7"
