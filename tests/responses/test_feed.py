"""The admin response feed /app/<account>/responses/ and the response detail page."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope
from responses import services
from surveys.models import Channel
from tests.factories import SurveyFactory
from tests.responses.conftest import mint_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(survey, questions):
    with account_scope(survey.account):
        promoter = services.record_response(survey=survey, invitation=mint_link(survey).invitation, score=10,
                                            comment="Loved the promoter flow")
        services.record_answers(response=promoter, answers={questions["What did you like most?"].pk: "Speed"})
        services.record_response(survey=survey, invitation=mint_link(survey).invitation, score=2,
                                 comment="Detractor words")
        services.record_response(survey=survey, invitation=mint_link(survey).invitation, score=7)
        services.record_response(survey=survey, invitation=mint_link(survey).invitation, score=10,
                                 suspected_bot=True, bot_reason="honeypot link opened")
        other = SurveyFactory(account=survey.account, name="Support CSAT", kind="csat", scale_min=1, scale_max=5)
        services.record_response(survey=other, score=5, channel=Channel.LINK, comment="CSAT five")
    return promoter


def test_the_feed_lists_responses_and_flags_suspected_scanners(client, alice, feed):
    client.force_login(alice)
    page = client.get("/app/acme/responses/").content.decode()
    assert "Loved the promoter flow" in page and "Detractor words" in page and "CSAT five" in page
    assert "Suspected scanner" in page and "honeypot link opened" in page


def test_the_feed_filters_by_group_comment_survey_and_scanners(client, alice, feed, survey):
    client.force_login(alice)
    promoters = client.get("/app/acme/responses/?group=promoter").content.decode()
    assert "Loved the promoter flow" in promoters and "CSAT five" in promoters  # 5 of 5 is a promoter
    assert "Detractor words" not in promoters
    no_bots = client.get("/app/acme/responses/?group=promoter&bots=hide").content.decode()
    assert "honeypot link opened" not in no_bots
    assert "honeypot link opened" in client.get("/app/acme/responses/?bots=only").content.decode()
    commented = client.get(f"/app/acme/responses/?comment=yes&survey={survey.pk}").content.decode()
    assert "Loved the promoter flow" in commented and "CSAT five" not in commented


def test_the_detail_page_shows_the_answers(client, bob, feed):
    client.force_login(bob)  # viewers may read
    page = client.get(feed.get_absolute_url()).content.decode()
    assert "Loved the promoter flow" in page
    assert "What did you like most?" in page and "Speed" in page


def test_mallory_gets_404_for_acme_responses(client, mallory, feed):
    client.force_login(mallory)
    assert client.get(feed.get_absolute_url()).status_code == 404
    assert client.get(f"/app/globex/responses/{feed.pk}/").status_code == 404
    page = client.get("/app/globex/responses/").content.decode()
    assert "Loved the promoter flow" not in page
