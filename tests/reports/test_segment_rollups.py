"""Segment rollups: rebuild equals the incremental updates, breakdowns and filters read them and agree
with the raw rows, and the response rate follows a segment filter (invitation properties)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.management import call_command
from django.utils import timezone

from accounts.scoping import account_scope
from reports import metrics, selectors
from reports.models import SegmentRollup
from reports.periods import Period, month_period
from responses.services import flag_suspected_bot, record_response
from surveys.models import Invitation
from tests.factories import InvitationFactory
from tests.reports.conftest import answer

MARCH = month_period(2026, 3)


def segment_snapshot(account):
    with account_scope(account):
        return sorted((r.survey_id, r.day, r.key, r.value, tuple(r.counts), r.comments)
                      for r in SegmentRollup.objects.filter(account=account) if any(r.counts) or r.comments)


def hand_data(survey):
    """Pro: 10, 9, 3 (NPS 33.3); free: 8, 0 (NPS -50); enterprise (agent Ana, store as a number): 10."""
    rows = [(10, {"plan": "pro", "agent": "Ana"}), (9, {"plan": "pro", "agent": "Ben"}),
            (3, {"plan": "pro", "agent": "Ana"}), (8, {"plan": "free", "agent": "Ben"}),
            (0, {"plan": "free"}), (10, {"plan": "enterprise", "agent": "Ana", "store": 12})]
    for i, (score, props) in enumerate(rows):
        answer(survey, score, at=datetime(2026, 3, 2 + i, 12, tzinfo=UTC), comment="ok" if i % 2 else "",
               properties=props)


def test_rebuilding_the_segment_rollups_gives_what_the_incremental_updates_gave(acme, nps_survey):
    hand_data(nps_survey)
    invitation = InvitationFactory(account=acme, survey=nps_survey, properties={"plan": "pro", "country": "FI"})
    bot = InvitationFactory(account=acme, survey=nps_survey, properties={"plan": "free"})
    with account_scope(acme):
        record_response(survey=nps_survey, score=2, invitation=invitation)
        # the second click changes the score and a property: its segment rows move with it
        record_response(survey=nps_survey, score=9, invitation=invitation, comment="better",
                        properties={"plan": "enterprise"})
        record_response(survey=nps_survey, score=1, invitation=bot)
        flag_suspected_bot(invitation=bot, reason="scanner")  # leaves every rollup
    incremental = segment_snapshot(acme)
    assert sum(sum(r[4]) for r in incremental if r[2] == "plan") == 7
    call_command("rebuild_rollups", account=acme.slug)
    assert segment_snapshot(acme) == incremental


def test_the_breakdown_by_plan_comes_from_the_rollups_and_matches_the_hand_counts(acme, nps_survey,
                                                                                 django_assert_max_num_queries):
    hand_data(nps_survey)
    with account_scope(acme):
        scope = selectors.Scope(acme, (nps_survey,), MARCH)
        assert selectors.rollup_rows(scope, "plan") is not None
        with django_assert_max_num_queries(1):
            by_plan = selectors.segment_counts(scope, "plan")
        by_agent = selectors.segment_counts(scope, "agent")
        by_store = selectors.segment_counts(scope, "store")
    assert by_plan == {"pro": metrics.counts_from_scores([10, 9, 3]), "free": metrics.counts_from_scores([8, 0]),
                       "enterprise": metrics.counts_from_scores([10])}
    assert round(metrics.nps(by_plan["pro"]).score, 1) == 33.3
    assert by_agent["(none)"] == metrics.counts_from_scores([0])  # a response without the key
    assert by_store == {"12": metrics.counts_from_scores([10]), "(none)": metrics.counts_from_scores([10, 9, 3, 8, 0])}


def test_a_filter_on_a_rolled_up_property_reads_the_rollups_for_counts_and_trend(acme, nps_survey):
    hand_data(nps_survey)
    answer(nps_survey, 0, at=datetime(2026, 2, 27, 12, tzinfo=UTC), properties={"plan": "pro"})
    with account_scope(acme):
        pro = selectors.Scope(acme, (nps_survey,), MARCH, (("plan", "pro"),))
        assert selectors.rollup_rows(pro) is not None
        assert selectors.score_counts(pro) == metrics.counts_from_scores([10, 9, 3])
        spring = selectors.Scope(acme, (nps_survey,), Period(month_period(2026, 2).start, MARCH.end),
                                 (("plan", "pro"),))
        trend = dict(selectors.trend(spring, bucket="month"))
        assert [sum(c) for c in trend.values()] == [1, 3]
        # The same filter on the raw rows (forced by a key that is not rolled up) agrees.
        ana_pro = selectors.Scope(acme, (nps_survey,), MARCH, (("plan", "pro"), ("agent", "Ana")))
        assert selectors.rollup_rows(ana_pro) is None
        assert selectors.score_counts(ana_pro) == metrics.counts_from_scores([10, 3])


def test_a_filter_on_one_property_and_a_breakdown_by_another_read_the_raw_rows(acme, nps_survey):
    hand_data(nps_survey)
    with account_scope(acme):
        pro = selectors.Scope(acme, (nps_survey,), MARCH, (("plan", "pro"),))
        assert selectors.rollup_rows(pro, "agent") is None
        assert selectors.segment_counts(pro, "agent") == {"Ana": metrics.counts_from_scores([10, 3]),
                                                          "Ben": metrics.counts_from_scores([9])}
        # same key filtered and broken down: the rollups answer it
        assert selectors.segment_counts(pro, "plan") == {"pro": metrics.counts_from_scores([10, 9, 3])}


def test_the_segments_page_ranks_plans_from_the_rollups(client, alice, acme, nps_survey):
    hand_data(nps_survey)
    client.force_login(alice)
    page = client.get(f"/app/{acme.slug}/reports/segments/?survey={nps_survey.pk}&start=2026-03-01"
                      f"&end=2026-03-31&segment=plan")
    assert page.status_code == 200
    rows = {r.segment: r for r in page.context["rows"]}
    assert {k: r.headline.total for k, r in rows.items()} == {"pro": 3, "free": 2, "enterprise": 1}
    assert rows["free"].headline.value == -50


def sent(survey, *, props: dict, at: datetime, score: int | None = None) -> Invitation:
    invitation = InvitationFactory(account=survey.account, survey=survey, properties=props,
                                   status=Invitation.Status.SENT, sent_at=at)
    if score is not None:
        with account_scope(survey.account):
            record_response(survey=survey, score=score, invitation=invitation)
    return invitation


def test_the_response_rate_follows_a_segment_filter(acme, nps_survey):
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    sent(nps_survey, props={"plan": "pro"}, at=at, score=9)
    sent(nps_survey, props={"plan": "pro"}, at=at, score=4)
    sent(nps_survey, props={"plan": "pro"}, at=at)
    sent(nps_survey, props={"plan": "free"}, at=at)
    sent(nps_survey, props={"plan": "free"}, at=at)
    sent(nps_survey, props={"plan": "free"}, at=at - timedelta(days=20), score=10)  # February: not counted
    with account_scope(acme):
        everyone = selectors.response_rate(selectors.Scope(acme, (nps_survey,), MARCH))
        pro = selectors.response_rate(selectors.Scope(acme, (nps_survey,), MARCH, (("plan", "pro"),)))
        free = selectors.response_rate(selectors.Scope(acme, (nps_survey,), MARCH, (("plan", "free"),)))
        by_survey = selectors.response_rates(acme, [nps_survey], MARCH, (("plan", "pro"),))
        by_plan = selectors.response_rate_by_segment(selectors.Scope(acme, (nps_survey,), MARCH), "plan")
    assert (everyone.successes, everyone.total) == (2, 5)
    assert (pro.successes, pro.total) == (2, 3)
    assert (free.successes, free.total) == (0, 2)
    assert by_survey[nps_survey.pk] == pro
    assert by_plan == {"pro": pro, "free": free}


def test_the_overview_with_a_segment_filter_shows_that_segments_response_rate(client, alice, acme, nps_survey):
    at = timezone.now() - timedelta(days=1)
    sent(nps_survey, props={"plan": "pro"}, at=at, score=9)
    sent(nps_survey, props={"plan": "pro"}, at=at)
    sent(nps_survey, props={"plan": "free"}, at=at)
    sent(nps_survey, props={"plan": "free"}, at=at)
    client.force_login(alice)
    page = client.get(f"/app/{acme.slug}/reports/?survey={nps_survey.pk}&period=30d&filter_key=plan"
                      f"&filter_value=pro")
    assert page.status_code == 200
    assert (page.context["rate"].successes, page.context["rate"].total) == (1, 2)
