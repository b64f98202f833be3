"""Self-assessments matched per interaction: an agent's rating that names a ticket is paired with the
customer response carrying the same reference, and the scorecards show the paired gap (by hand)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.scoping import account_scope
from reports import agent_selectors, selectors, services
from reports.periods import Period
from tests.api.conftest import new_key
from tests.factories import SurveyFactory
from tests.reports.conftest import answer

pytestmark = pytest.mark.django_db


def rate(survey, agent: str, score: int, *, interaction: str = "", days_ago: int = 1) -> None:
    with account_scope(survey.account), time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        services.record_self_assessment(account=survey.account, survey_id=survey.pk, agent=agent, score=score,
                                        interaction=interaction)


@pytest.fixture
def interactions(acme, nps_survey):
    """Customers: T-1 -> 6 (``ticket``), 2 -> 9 (``interaction_id``, a number), T-3 -> 10 (no self-rating),
    T-5 -> 2 then, on a later ticket response, 4 (the newest wins). Ana rated T-1: 9, 2: 10, T-9: 8 (no
    customer answer) and one unreferenced 7. Ben rated T-5: 7, and T-1 on another survey: 10 (no pair)."""
    now = timezone.now()
    answer(nps_survey, 6, at=now - timedelta(days=3), properties={"agent": "Ana", "ticket": "T-1"})
    answer(nps_survey, 9, at=now - timedelta(days=3), properties={"agent": "Ana", "interaction_id": 2})
    answer(nps_survey, 10, at=now - timedelta(days=3), properties={"agent": "Ana", "ticket": "T-3"})
    answer(nps_survey, 2, at=now - timedelta(days=4), properties={"agent": "Ben", "ticket": "T-5"})
    answer(nps_survey, 4, at=now - timedelta(days=2), properties={"agent": "Ben", "ticket": "T-5"})
    rate(nps_survey, "Ana", 9, interaction="T-1")
    rate(nps_survey, "Ana", 10, interaction="2")
    rate(nps_survey, "Ana", 8, interaction="T-9")
    rate(nps_survey, "Ana", 7)
    rate(nps_survey, "Ben", 7, interaction="T-5")
    other = SurveyFactory(account=acme, name="Support NPS")
    rate(other, "Ben", 10, interaction="T-1")
    return nps_survey


def last_30_days(account) -> Period:
    today = timezone.now().astimezone(account.tz).date()
    return Period(today - timedelta(days=29), today)


def test_each_referenced_self_assessment_is_paired_with_the_customer_answer_of_that_interaction(acme, interactions):
    with account_scope(acme):
        scope = selectors.Scope(acme, tuple(selectors.surveys_of(acme)), last_30_days(acme))
        pairs = agent_selectors.matched_pairs(scope)
    assert sorted((p.agent, p.interaction, p.self_score, p.customer_score, p.gap) for p in pairs) == [
        ("Ana", "2", 10, 9, 1), ("Ana", "T-1", 9, 6, 3), ("Ben", "T-5", 7, 4, 3)]


def test_the_scorecard_shows_the_matched_gap_with_its_interval_computed_by_hand(acme, interactions):
    with account_scope(acme):
        scope = selectors.Scope(acme, tuple(selectors.surveys_of(acme)), last_30_days(acme))
        cards = {c["agent"]: c for c in agent_selectors.agent_scorecards(scope)}
    ana = cards["Ana"]["self"][interactions.pk]
    # per-period comparison as before: self 9, 10, 8, 7 (mean 8.5) vs customers 6, 9, 10 (mean 8.33)
    assert ana.self_mean.value == pytest.approx(8.5) and ana.customer_mean == pytest.approx(25 / 3)
    # matched: gaps 3 and 1 -> mean 2.0, sd sqrt(2), se 1.0, 95% interval 2 +- 1.96
    assert ana.matched.gap.value == pytest.approx(2.0) and ana.matched.gap.standard_error == pytest.approx(1.0)
    assert ana.matched.gap.low == pytest.approx(2 - 1.959964, abs=1e-5)
    assert (ana.matched.self_mean, ana.matched.customer_mean) == (9.5, 7.5)
    ben = cards["Ben"]["self"][interactions.pk]
    assert len(ben.matched.pairs) == 1 and ben.matched.gap.value == 3 and ben.matched.gap.low is None


def test_the_agents_page_and_csv_show_the_matched_interactions(client, alice, acme, interactions):
    client.force_login(alice)
    html = client.get(f"/app/{acme.slug}/reports/agents/?period=30d").content.decode()
    assert 'data-testid="matched-table"' in html and "T-1" in html and "+2.00" in html
    rows = list(csv.reader(io.StringIO(b"".join(client.get(
        f"/app/{acme.slug}/reports/export/chart.csv?period=30d&chart=agents").streaming_content).decode())))
    header = rows[0]
    ana = next(r for r in rows if r[0] == "Ana")
    assert ana[header.index(f"{interactions.name}: matched interactions")] == "2"
    assert ana[header.index(f"{interactions.name}: matched gap (self - customer, per interaction)")] == "2.00"


def test_a_reference_posted_through_the_api_is_matched(client, acme, nps_survey):
    answer(nps_survey, 3, at=timezone.now() - timedelta(hours=5), properties={"agent": "Ana", "ticket": "Z-77"})
    created = client.post("/api/v1/self-assessments", {"agent": "Ana", "survey": nps_survey.pk, "score": 8,
                                                       "interaction": "Z-77"},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {new_key(acme)}")
    assert created.status_code == 201
    with account_scope(acme), time_machine.travel(timezone.now(), tick=False):
        pairs = agent_selectors.matched_pairs(selectors.Scope(acme, (nps_survey,), last_30_days(acme)))
    assert [(p.self_score, p.customer_score, p.gap) for p in pairs] == [(8, 3, 5)]


def test_mallory_sees_no_matched_interactions_of_acme(client, mallory, acme, interactions):
    client.force_login(mallory)
    assert client.get(f"/app/{acme.slug}/reports/agents/?period=30d").status_code == 404
