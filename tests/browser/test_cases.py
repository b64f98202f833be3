"""Browser: a detractor's case reaches the assignee's inbox, is worked, and the next answer shows the change."""
from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from accounts.scoping import account_scope
from responses.services import record_response
from tests.browser.conftest import shot
from tests.factories import PersonFactory, SurveyFactory


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_the_assignee_works_a_detractor_case_and_sees_the_next_answer(page, phone_page, live_server, acme, alice):
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="Delivery NPS")
        dana = PersonFactory(account=acme, email="dana@customer.example", name="Dana", properties={"plan": "Pro"})
        record_response(survey=survey, score=3, person=dana, comment="Waited 40 minutes on the phone")

    log_in(page, live_server, alice)
    page.goto("/app/acme/responses/cases/")
    expect(page.get_by_role("heading", name="Follow-up cases")).to_be_visible()
    expect(page.get_by_text("Waited 40 minutes on the phone")).to_be_visible()
    shot(page, "cases-inbox")
    page.get_by_role("link", name="Case for score 3").click()

    expect(page.get_by_text("Pro", exact=True)).to_be_visible()  # the person's properties
    page.get_by_label("Note").fill("Called Dana, apologised, sent a voucher")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    page.get_by_role("button", name="Contacted by Phone").click()
    expect(page.locator("#case-status")).to_contain_text("Contacted")
    expect(page.locator("#case-status")).to_contain_text("Phone")
    expect(page.get_by_text("Called Dana, apologised, sent a voucher")).to_be_visible()
    expect(page.locator("#next-response")).to_contain_text("No response since the case opened")

    with account_scope(acme), time_machine.travel(timezone.now() + timedelta(days=14)):
        record_response(survey=survey, score=9, person=dana, comment="Much better now")
    page.reload()
    expect(page.locator("#next-response")).to_contain_text("detractor 3 → promoter 9")
    shot(page, "cases-detail")

    page.goto("/app/acme/responses/cases/")
    expect(page.get_by_text("No cases here.")).to_be_visible()  # contacted: out of "my open cases"

    log_in(phone_page, live_server, alice)
    phone_page.goto("/app/acme/responses/cases/?view=all")
    expect(phone_page.get_by_text("Waited 40 minutes on the phone")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(phone_page, "cases-inbox-phone")
