"""Agents' self-assessments: recorded through the API or the form, set beside their customers' score on the
agent scorecards (figures computed by hand); bad input names the field; other accounts see nothing."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.scoping import account_scope
from reports import agent_selectors, selectors, services
from reports.models import SelfAssessment
from reports.periods import Period
from tests.api.conftest import new_key
from tests.factories import SurveyFactory
from tests.reports.conftest import answer

pytestmark = pytest.mark.django_db


def url(path: str = "", account: str = "acme") -> str:
    return f"/app/{account}/reports/{path}"


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def rate(survey, agent: str, score: int, *, at=None, interaction: str = "") -> SelfAssessment:
    with account_scope(survey.account), time_machine.travel(at or timezone.now(), tick=False):
        return services.record_self_assessment(account=survey.account, survey_id=survey.pk, agent=agent,
                                               score=score, interaction=interaction)


@pytest.fixture
def rated(acme, nps_survey):
    """Ana's customers answered 10, 9, 6, 3 (mean 7.0, NPS 0); Ana rated herself 9, 10, 8 (mean 9.0, NPS 66.7)
    and, 60 days ago, 0 (outside a 30-day period). Ben only rated himself: 5."""
    now = timezone.now()
    for score in (10, 9, 6, 3):
        answer(nps_survey, score, at=now - timedelta(days=2), properties={"agent": "Ana"})
    for score in (9, 10, 8):
        rate(nps_survey, "Ana", score, at=now - timedelta(days=1), interaction="T-1")
    rate(nps_survey, "Ana", 0, at=now - timedelta(days=60))
    rate(nps_survey, "Ben", 5, at=now - timedelta(days=1))
    return nps_survey


def last_30_days(account) -> Period:
    today = timezone.now().astimezone(account.tz).date()
    return Period(today - timedelta(days=29), today)


def test_scorecards_set_the_self_assessed_mean_beside_the_customers_mean_computed_by_hand(acme, rated):
    with account_scope(acme):
        cards = {c["agent"]: c for c in agent_selectors.agent_scorecards(
            selectors.Scope(acme, (rated,), last_30_days(acme)))}
    ana = cards["Ana"]["self"][rated.pk]
    assert ana.self_mean.total == 3 and ana.self_mean.value == pytest.approx(9.0)  # (9 + 10 + 8) / 3
    assert ana.customer_mean == pytest.approx(7.0)  # (10 + 9 + 6 + 3) / 4
    assert ana.gap == pytest.approx(2.0)
    assert ana.customer_headline.value == pytest.approx(0.0)  # 2 promoters, 2 detractors of 4
    assert ana.self_headline.value == pytest.approx(200 / 3)  # 2 promoters, 0 detractors of 3
    ben = cards["Ben"]["self"][rated.pk]
    assert ben.self_mean.value == 5 and ben.customer_mean is None and ben.gap is None
    assert cards["Ben"]["responses"] == 0


def test_a_longer_period_counts_the_older_self_assessment(acme, rated):
    with account_scope(acme):
        today = timezone.now().astimezone(acme.tz).date()
        cards = {c["agent"]: c for c in agent_selectors.agent_scorecards(
            selectors.Scope(acme, (rated,), Period(today - timedelta(days=89), today)))}
    assert cards["Ana"]["self"][rated.pk].self_mean.value == pytest.approx(27 / 4)  # (9 + 10 + 8 + 0) / 4


def test_the_agents_page_shows_customer_score_versus_self_assessment_and_the_csv_has_it(client, alice, rated):
    client.force_login(alice)
    page = client.get(url("agents/?period=30d"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="self-assessment-table"' in html and "+2.00" in html and "9.00" in html
    body = b"".join(client.get(url("export/chart.csv?period=30d&chart=agents")).streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, ana = rows[0], next(r for r in rows if r[0] == "Ana")
    column = header.index(f"{rated.name}: gap (self - customers)")
    assert ana[column] == "2.00" and ana[column - 2] == "9.00" and ana[column - 1] == "7.00"


def test_without_self_assessments_the_page_says_so(client, alice, nps_survey):
    answer(nps_survey, 9, properties={"agent": "Ana"})
    client.force_login(alice)
    assert "No self-assessments in this period." in client.get(url("agents/?period=30d")).content.decode()


def test_a_property_filter_keeps_only_the_agents_it_selects(acme, rated):
    with account_scope(acme):
        cards = agent_selectors.agent_scorecards(
            selectors.Scope(acme, (rated,), last_30_days(acme), (("agent", "Ana"),)))
    assert [c["agent"] for c in cards] == ["Ana"]


def test_the_service_refuses_a_score_off_the_surveys_scale_and_another_accounts_survey(acme, globex):
    ces = SurveyFactory(account=acme, kind="ces", scale_min=1, scale_max=7)
    theirs = SurveyFactory(account=globex)
    with account_scope(acme):
        with pytest.raises(ValidationError) as off_scale:
            services.record_self_assessment(account=acme, survey_id=ces.pk, agent="Ana", score=0)
        assert set(off_scale.value.message_dict) == {"score"}
        with pytest.raises(ValidationError) as foreign:
            services.record_self_assessment(account=acme, survey_id=theirs.pk, agent=" ", score=5)
        assert set(foreign.value.message_dict) == {"survey", "agent"}
        assert not SelfAssessment.objects.filter(account=acme).exists()


def test_a_member_records_a_self_assessment_through_the_form(client, carol, acme, nps_survey):
    client.force_login(carol)
    form = client.get(url("agents/self-assessment/?agent=Ana"))
    assert form.status_code == 200 and form.context["form"].initial["agent"] == "Ana"
    done = client.post(url("agents/self-assessment/"), {"agent": "Ana", "survey": nps_survey.pk, "score": 8,
                                                         "interaction": "T-7"})
    assert done.status_code == 302 and done["Location"] == url("agents/")
    with account_scope(acme):
        saved = SelfAssessment.objects.get(account=acme)
    assert (saved.agent, saved.score, saved.interaction, saved.survey_id) == ("Ana", 8, "T-7", nps_survey.pk)
    assert "T-7" in client.get(url("agents/self-assessment/")).content.decode()


def test_the_form_shows_an_off_scale_score_on_its_field_and_writes_nothing(client, carol, acme):
    ces = SurveyFactory(account=acme, name="Support CES", kind="ces", scale_min=1, scale_max=7)
    client.force_login(carol)
    page = client.post(url("agents/self-assessment/"), {"agent": "Ana", "survey": ces.pk, "score": 9})
    assert page.status_code == 200 and page.context["form"].errors["score"] == ["On this survey's scale: 1 to 7."]
    with account_scope(acme):
        assert not SelfAssessment.objects.exists()


def test_a_viewer_cannot_record_one(client, bob, acme, nps_survey):
    client.force_login(bob)
    assert client.post(url("agents/self-assessment/"),
                       {"agent": "Ana", "survey": nps_survey.pk, "score": 8}).status_code in (403, 404)
    with account_scope(acme):
        assert not SelfAssessment.objects.exists()


def test_mallory_cannot_open_or_post_acmes_form_nor_use_an_acme_survey_in_hers(client, mallory, acme, globex,
                                                                               nps_survey):
    client.force_login(mallory)
    assert client.get(url("agents/self-assessment/")).status_code == 404
    assert client.post(url("agents/self-assessment/"),
                       {"agent": "Ana", "survey": nps_survey.pk, "score": 8}).status_code == 404
    own = client.post(url("agents/self-assessment/", account="globex"),
                      {"agent": "Ana", "survey": nps_survey.pk, "score": 8})
    assert own.status_code == 200 and "survey" in own.context["form"].errors
    with account_scope(acme):
        assert not SelfAssessment.objects.exists()


# --- the REST API ----------------------------------------------------------------------------------

def test_the_api_records_and_lists_self_assessments(client, acme, nps_survey):
    key = new_key(acme)
    created = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": nps_survey.pk, "score": 9,
                                                       "interaction": "T-42"},
                          content_type="application/json", **auth(key))
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("agent", "survey", "score", "interaction", "comment")} == {
        "agent": "Ana", "survey": nps_survey.pk, "score": 9, "interaction": "T-42", "comment": ""}
    client.post("/api/v1/self-assessments", {"agent": "Ben", "survey": nps_survey.pk, "score": 4},
                content_type="application/json", **auth(key))
    listed = client.get("/api/v1/self-assessments?agent=Ana", **auth(key)).json()["results"]
    assert [(r["agent"], r["score"]) for r in listed] == [("Ana", 9)]
    assert len(client.get(f"/api/v1/self-assessments?survey={nps_survey.pk}", **auth(key)).json()["results"]) == 2


def test_an_api_retry_with_the_same_idempotency_key_records_one(client, acme, nps_survey):
    key = new_key(acme)
    for _ in range(2):
        response = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": nps_survey.pk, "score": 9},
                               content_type="application/json", HTTP_IDEMPOTENCY_KEY="once", **auth(key))
        assert response.status_code == 201
    with account_scope(acme):
        assert SelfAssessment.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"agent": "Ana", "score": 11}, "score"),  # beyond 0-10
    ({"agent": "Ana", "score": "9"}, "score"),  # a string is not a score
    ({"agent": "", "score": 9}, "agent"),
    ({"agent": "Ana", "score": 9, "rating": 3}, "rating"),  # unknown fields are refused
])
def test_bad_api_input_is_a_400_naming_the_field_and_writes_nothing(client, acme, nps_survey, body, field):
    response = client.post("/api/v1/self-assessments", {"survey": nps_survey.pk, **body},
                           content_type="application/json", **auth(new_key(acme)))
    assert response.status_code == 400 and field in response.json()["errors"]
    with account_scope(acme):
        assert not SelfAssessment.objects.exists()


def test_a_ces_score_off_its_scale_is_a_400_on_score(client, acme):
    ces = SurveyFactory(account=acme, kind="ces", scale_min=1, scale_max=7)
    response = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": ces.pk, "score": 9},
                           content_type="application/json", **auth(new_key(acme)))
    assert response.status_code == 400 and list(response.json()["errors"]) == ["score"]


def test_a_read_key_cannot_record(client, acme, nps_survey):
    response = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": nps_survey.pk, "score": 9},
                           content_type="application/json", **auth(new_key(acme, scope="read")))
    assert response.status_code == 403


def test_mallorys_key_sees_none_of_acmes_and_cannot_use_an_acme_survey(client, acme, globex, mallory, rated):
    key = new_key(globex)
    assert client.get("/api/v1/self-assessments", **auth(key)).json()["results"] == []
    assert client.get(f"/api/v1/self-assessments?survey={rated.pk}", **auth(key)).json()["results"] == []
    response = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": rated.pk, "score": 9},
                           content_type="application/json", **auth(key))
    assert response.status_code == 400 and list(response.json()["errors"]) == ["survey"]
    with account_scope(globex):
        assert not SelfAssessment.objects.filter(account=globex).exists()
