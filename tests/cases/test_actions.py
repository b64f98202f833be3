"""Thank-you actions for promoters and passives: tracked links, no open redirect, clicks in the report."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.scoping import account_scope, cross_account
from responses import case_selectors
from responses.models import ActionClick, Response
from tests.factories import ActionClickFactory, SurveyFactory
from tests.responses.conftest import mint_link

REVIEW = "https://reviews.example/acme"
REFER = "https://refer.example/acme?code=friends"
ACTIONS = {"promoter": {"message": "Thanks! Leave us a review?", "link_text": "Review us", "link_url": REVIEW},
           "passive": {"message": "What would make it a 10?", "link_text": "Refer a friend", "link_url": REFER},
           "detractor": {"message": "Sorry. We will call you."}}


@pytest.fixture
def action_survey(acme):
    with account_scope(acme):
        return SurveyFactory(account=acme, name="Checkout NPS", thank_you=ACTIONS)


def action_href(page: str) -> str:
    found = re.search(r'<a class="button primary" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else ""


def clicks(account) -> list[ActionClick]:
    with account_scope(account):
        return list(ActionClick.objects.select_related("response").order_by("pk"))


def answer_by_token(client, survey, score: int):
    link = mint_link(survey)
    assert client.post(link.url, {"score": str(score), "comment": ""}).status_code == 302
    return link, client.get(f"/r/{link.token}/thanks").content.decode()


def test_a_promoter_clicking_the_review_link_is_counted_and_sent_to_the_review_page(client, acme, action_survey):
    link, page = answer_by_token(client, action_survey, 10)
    assert "Review us" in page and REVIEW not in page  # the page links to Verbatim, not to the site
    assert action_href(page) == f"/r/{link.token}/action"
    answer = client.get(action_href(page))
    assert answer.status_code == 302 and answer["Location"] == REVIEW
    assert answer["Referrer-Policy"] == "same-origin"  # the review site never sees the token URL
    [click] = clicks(acme)
    assert (click.group, click.url, click.account_id) == ("promoter", REVIEW, acme.pk)
    with account_scope(acme):
        assert click.response == Response.objects.get(invitation=link.invitation)
    client.get(action_href(page))
    assert len(clicks(acme)) == 2  # every click counts; the report also counts people


def test_a_passive_on_a_link_survey_gets_the_referral_link_through_a_signed_url(client, acme, action_survey):
    submitted = client.post(f"/s/{action_survey.public_id}", {"score": "8", "comment": ""})
    assert submitted.status_code == 302
    page = client.get(submitted["Location"]).content.decode()
    assert "What would make it a 10?" in page and "Refer a friend" in page
    href = action_href(page)
    assert href.startswith(f"/s/{action_survey.public_id}/action/")
    answer = client.get(href)
    assert answer.status_code == 302 and answer["Location"] == REFER
    [click] = clicks(acme)
    assert click.group == "passive" and click.response is not None and click.response.score == 8


def test_a_group_without_an_action_shows_no_link_and_its_door_answers_404(client, acme, action_survey):
    link, page = answer_by_token(client, action_survey, 2)
    assert "Sorry. We will call you." in page and action_href(page) == ""
    assert client.get(f"/r/{link.token}/action").status_code == 404
    assert clicks(acme) == []


def test_the_action_before_any_answer_goes_back_to_the_form_and_counts_nothing(client, acme, action_survey):
    link = mint_link(action_survey)
    answer = client.get(f"/r/{link.token}/action")
    assert answer.status_code == 302 and answer["Location"] == f"/r/{link.token}"
    assert clicks(acme) == []


def test_unknown_tokens_and_forged_or_foreign_signed_links_answer_404(client, acme, globex, action_survey):
    assert client.get("/r/not-a-real-token/action").status_code == 404
    submitted = client.post(f"/s/{action_survey.public_id}", {"score": "10", "comment": ""})
    href = action_href(client.get(submitted["Location"]).content.decode())
    signed = href.rsplit("/", 1)[1]
    assert client.get(href[:-3] + "abc").status_code == 404  # tampered signature
    with account_scope(globex):
        other = SurveyFactory(account=globex, name="Globex NPS", thank_you=ACTIONS)
    assert client.get(f"/s/{other.public_id}/action/{signed}").status_code == 404  # acme's link on globex's door
    assert clicks(acme) == [] and clicks(globex) == []


def test_the_action_never_redirects_to_a_url_from_the_request(client, acme, action_survey):
    link, page = answer_by_token(client, action_survey, 9)
    answer = client.get(f"/r/{link.token}/action?next=https://evil.example/&url=https://evil.example/")
    assert answer["Location"] == REVIEW
    with account_scope(acme):
        action_survey.thank_you = {"promoter": {"link_text": "Click", "link_url": "javascript:alert(1)"}}
        action_survey.save(update_fields=["thank_you"])
    page = client.get(f"/r/{link.token}/thanks").content.decode()
    assert action_href(page) == "" and "javascript:" not in page
    assert client.get(f"/r/{link.token}/action").status_code == 404
    assert [c.url for c in clicks(acme)] == [REVIEW]


def test_the_experiment_page_counts_clicks_per_survey_and_group(client, acme, alice, action_survey):
    for score in (10, 9, 7):
        _, page = answer_by_token(client, action_survey, score)
        client.get(action_href(page))
    with cross_account():
        other = SurveyFactory(account=acme, name="Support CES", thank_you=ACTIONS)
        ActionClickFactory.create_batch(4, account=acme, survey=other, group="passive", url=REFER)
    with account_scope(acme):
        report = case_selectors.action_clicks_report(acme)
    assert report["rows"] == [
        {"survey": "Support CES", "survey_id": other.pk, "promoter": 0, "passive": 4, "detractor": 0, "total": 4},
        {"survey": "Checkout NPS", "survey_id": action_survey.pk, "promoter": 2, "passive": 1, "detractor": 0,
         "total": 3}]
    assert report["totals"] == {"promoter": 2, "passive": 5, "detractor": 0, "total": 7}
    assert report["people"] == 7  # the factory gives each click its own response
    client.force_login(alice)
    page = client.get(reverse("responses:case-experiment", kwargs={"account": "acme"})).content.decode()
    section = page[page.index('id="action-clicks"'):]
    assert "Checkout NPS</th><td>2</td><td>1</td><td>0</td><td>3</td>" in section
    assert "All surveys</th><td>2</td><td>5</td><td>0</td><td>7</td>" in section


def test_mallory_sees_neither_acmes_clicks_nor_its_report(client, acme, globex, mallory, action_survey):
    _, page = answer_by_token(client, action_survey, 10)
    client.get(action_href(page))
    client.force_login(mallory)
    assert client.get(reverse("responses:case-experiment", kwargs={"account": "acme"})).status_code == 404
    own = client.get(reverse("responses:case-experiment", kwargs={"account": "globex"})).content.decode()
    assert "Checkout NPS" not in own and "No clicks on thank-you actions yet." in own
    with account_scope(globex):
        assert ActionClick.objects.count() == 0
