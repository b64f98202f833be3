"""The web widget in real Chromium, embedded in a page of another origin (a customer's app)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.scoping import account_scope
from responses.models import Response
from tests.browser.conftest import shot
from tests.factories import AccountFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_signed_in_user_answers_the_widget_on_the_customers_site(page, live_server, httpserver):
    acme = AccountFactory(name="Acme", slug="acme", brand_color="#5f3dc4")
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="In-app NPS", low_label="Not likely", high_label="Very likely")
    snippet = (f'<script src="{live_server.url}/static/responses/widget.js" async data-survey="{survey.public_id}" '
               'data-email="jane@customer.example" data-user-id="42" data-properties=\'{"plan": "pro"}\'></script>')
    httpserver.expect_request("/app").respond_with_data(
        f"<!doctype html><html><body><h1>Customer app</h1>{snippet}</body></html>", content_type="text/html")
    page.goto(httpserver.url_for("/app"))
    panel = page.get_by_role("dialog")
    expect(panel).to_contain_text("How likely are you to recommend Acme")
    panel.get_by_role("button", name="9", exact=True).click()
    panel.get_by_label("What is the main reason for your score?").fill("Handy in the app")
    shot(page, "respondent-widget")
    panel.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
    with account_scope(acme):
        response = Response.objects.get(survey=survey)
        assert (response.channel, response.score, response.comment) == ("widget", 9, "Handy in the app")
        assert response.person.email == "jane@customer.example"
        assert response.properties == {"plan": "pro", "user_id": "42"}
    # Reloading the customer's page: the person was just surveyed, so the throttle keeps the widget away.
    page.goto(httpserver.url_for("/app"))
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name=re.compile("Customer app"))).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
