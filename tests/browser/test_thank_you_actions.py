"""A promoter in real Chromium follows the review link of the thank-you page: the click is counted
and the browser lands on the review site (a real HTTP server). Screenshot: thank-you-action-*.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.scoping import account_scope
from responses.models import ActionClick
from tests.browser.conftest import shot
from tests.factories import AccountFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_promoter_clicks_the_review_link_and_lands_on_the_review_site(page, httpserver):
    httpserver.expect_request("/acme").respond_with_data("<h1>Acme reviews</h1>", content_type="text/html")
    review = httpserver.url_for("/acme")
    acme = AccountFactory(name="Acme", slug="acme")
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="Checkout NPS", thank_you={
            "promoter": {"message": "Leave us a review?", "link_text": "Review us", "link_url": review}})
    page.goto(f"/s/{survey.public_id}")
    page.get_by_role("radio", name="10").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Leave us a review?")).to_be_visible()
    link = page.get_by_role("link", name="Review us")
    expect(link).to_have_attribute("href", re.compile(rf"^/s/{survey.public_id}/action/\S+$"))  # not the site
    shot(page, "thank-you-action-thanks")
    link.click()
    expect(page.get_by_role("heading", name="Acme reviews")).to_be_visible()
    assert page.url == review
    with account_scope(acme):
        [click] = ActionClick.objects.select_related("response")
    assert (click.group, click.url, click.response.score) == ("promoter", review, 10)
