"""The account home shows each survey's headline for the last 30 days (the reports panel)."""
from datetime import timedelta

from django.utils import timezone

from accounts.scoping import account_scope
from responses.models import DailyRollup
from responses.services import record_response
from tests.factories import SurveyFactory


def test_the_home_page_shows_the_nps_of_the_last_30_days(client, alice, acme):
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="Relationship NPS")
        for score in (10, 10, 9, 8, 3):  # 3 promoters, 1 passive, 1 detractor: NPS 40
            record_response(survey=survey, score=score, channel="link")
    client.force_login(alice)
    page = client.get(f"/app/{acme.slug}/").content.decode()
    assert "Relationship NPS" in page
    assert f'data-testid="headline-{survey.pk}"><strong>40.0</strong>' in page


def test_responses_older_than_the_window_are_left_out(client, alice, acme):
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="Old NPS")
        record_response(survey=survey, score=0, channel="link")
        # The rollup of a response from 40 days ago (the panel reads rollups only).
        DailyRollup.objects.filter(survey=survey).update(day=(timezone.now() - timedelta(days=40)).date())
    client.force_login(alice)
    page = client.get(f"/app/{acme.slug}/").content.decode()
    assert "Last 30 days" not in page  # nothing in the window: no panel at all
    assert f'data-testid="headline-{survey.pk}"' not in page


def test_mallory_sees_no_acme_panel(client, mallory, acme):
    with account_scope(acme):
        record_response(survey=SurveyFactory(account=acme, name="Acme secret survey"), score=9, channel="link")
    client.force_login(mallory)
    assert client.get(f"/app/{acme.slug}/").status_code == 404
    assert "Acme secret survey" not in client.get("/app/globex/").content.decode()
