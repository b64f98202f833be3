"""Report pages: overview, segments with drivers, comments, agents, chart CSVs; roles and other accounts."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import SurveyFactory
from tests.reports.conftest import answer


def url(path: str = "", account: str = "acme") -> str:
    return f"/app/{account}/reports/{path}"


@pytest.fixture
def feedback(acme, nps_survey):
    """Last 30 days: chat answers are poor, phone answers good; the 30 days before, both good."""
    now = timezone.now()
    for days_ago, channel, score in [(5, "chat", 2), (6, "chat", 3), (7, "chat", 10), (8, "phone", 10),
                                     (9, "phone", 9), (10, "phone", 8),
                                     (35, "chat", 10), (36, "chat", 9), (37, "phone", 10), (38, "phone", 6)]:
        answer(nps_survey, score, at=now - timedelta(days=days_ago),
               comment="billing error again" if score < 7 else "friendly support",
               properties={"channel": channel, "agent": "anna" if channel == "chat" else "ben"})
    return nps_survey


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_overview_shows_the_nps_its_interval_and_the_change(client, alice, feedback):
    client.force_login(alice)
    page = client.get(url("?period=30d"))
    assert page.status_code == 200
    now = page.context["now"]
    # 6 answers: promoters 10, 10, 9 (3); detractors 2, 3 (2): NPS (3 - 2) / 6 = 16.7
    assert now.total == 6 and now.value == pytest.approx(100 / 6)
    assert page.context["before"].total == 4
    assert "<svg" in page.content.decode() and "95% interval" in page.content.decode()
    assert [row[0] for row in page.context["tables"]["distribution"].rows] == list(range(11))


def test_a_segment_filter_narrows_the_overview(client, alice, feedback):
    client.force_login(alice)
    page = client.get(url("?period=30d&filter_key=channel&filter_value=chat"))
    assert page.context["now"].total == 3


def test_segments_are_sorted_by_impact_and_explained_in_words(client, alice, feedback):
    client.force_login(alice)
    page = client.get(url("segments/?period=30d&segment=channel"))
    assert page.status_code == 200
    rows = page.context["rows"]
    # chat: NPS 100 before, -33 now; phone: 0 before, 67 now. chat moved the score the most (down).
    assert rows[0].segment == "chat" and rows[0].driver.total < 0
    # chat: 2 promoters of 2 before; 1 of 3 now with 2 detractors (0% -> 67%)
    assert "chat: detractors rose from 0% to 67% (NPS fell from 100.0 to -33.3)" in page.content.decode()


def test_each_chart_downloads_its_table_as_csv(client, alice, feedback):
    client.force_login(alice)
    for chart in ("surveys", "trend", "distribution", "segments", "themes", "agents"):
        response = client.get(url(f"export/chart.csv?period=30d&segment=channel&chart={chart}"))
        assert response.status_code == 200, chart
        assert response["Content-Type"].startswith("text/csv")
        rows = csv_rows(response)
        assert len(rows) >= 2, chart
    segments = csv_rows(client.get(url("export/chart.csv?period=30d&segment=channel&chart=segments")))
    assert segments[1][0] == "chat" and segments[1][1] == "3"


def test_an_unknown_chart_or_survey_is_a_bad_request_naming_the_field(client, alice, feedback):
    client.force_login(alice)
    assert client.get(url("export/chart.csv?chart=nope")).content.startswith(b"chart:")
    assert client.get(url("?survey=99999999")).status_code == 400


def test_the_comment_feed_filters_by_group_text_and_tag(client, alice, feedback):
    answer(feedback, 1, comment="Slow app", properties={"channel": "chat"}, tags=["app"])
    client.force_login(alice)
    detractors = client.get(url("comments/?period=30d&group=detractor"))
    assert {r.comment for r in detractors.context["feed"]} == {"billing error again", "Slow app"}
    assert [r.comment for r in client.get(url("comments/?period=30d&q=slow")).context["feed"]] == ["Slow app"]
    assert [r.comment for r in client.get(url("comments/?period=30d&tag=app")).context["feed"]] == ["Slow app"]


def test_agent_scorecards_show_each_agents_customers_score(client, alice, acme, feedback):
    ces = SurveyFactory(account=acme, name="Support CES", kind="ces", scale_min=1, scale_max=7)
    answer(ces, 7, properties={"agent": "anna"})
    client.force_login(alice)
    cards = {c["agent"]: c for c in client.get(url("agents/?period=30d")).context["cards"]}
    assert cards["anna"]["scores"][feedback.pk].value == pytest.approx(-100 / 3)
    assert cards["anna"]["scores"][ces.pk].value == 100
    assert cards["ben"]["responses"] == 3


def test_a_viewer_reads_reports(client, bob, feedback):
    client.force_login(bob)
    assert client.get(url()).status_code == 200
    assert client.get(url("segments/")).status_code == 200


def test_mallory_cannot_see_acme_reports(client, mallory, feedback):
    client.force_login(mallory)
    for path in ("", "segments/", "comments/", "agents/", "export/chart.csv?chart=trend",
                 "export/responses?format=csv", "monthly/", "monthly/latest/"):
        assert client.get(url(path)).status_code == 404, path


def test_mallory_cannot_pick_an_acme_survey_in_her_own_reports(client, mallory, globex, feedback):
    client.force_login(mallory)
    assert client.get(url(f"?survey={feedback.pk}", account="globex")).status_code == 400
