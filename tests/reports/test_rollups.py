"""Rollups: rebuild from raw rows equals the incremental updates; month edges in the account's time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime

from django.core.management import call_command

from accounts.scoping import account_scope
from reports import metrics, selectors
from reports.periods import month_period
from responses.models import DailyRollup
from responses.services import record_response
from tests.factories import InvitationFactory
from tests.reports.conftest import answer


def snapshot(account):
    with account_scope(account):
        return sorted((r.survey_id, r.day, r.channel, tuple(r.counts), r.comments)
                      for r in DailyRollup.objects.filter(account=account) if any(r.counts))


def test_rebuilding_the_rollups_gives_what_the_incremental_updates_gave(acme, nps_survey):
    for i, score in enumerate([10, 9, 3, 7, 0, 10, 8]):
        answer(nps_survey, score, at=datetime(2026, 1, 1 + i * 5, 12, tzinfo=UTC), comment="ok" if i % 2 else "",
               properties={"channel": "chat"})
    invitation = InvitationFactory(account=acme, survey=nps_survey)
    with account_scope(acme):  # a later click changes the score and adds a comment: the rollup follows
        record_response(survey=nps_survey, score=2, invitation=invitation)
        record_response(survey=nps_survey, score=9, invitation=invitation, comment="changed my mind")
    incremental = snapshot(acme)
    assert sum(sum(r[3]) for r in incremental) == 8
    call_command("rebuild_rollups", account=acme.slug)
    assert snapshot(acme) == incremental


def test_a_response_just_after_midnight_local_counts_for_the_new_month(acme, nps_survey):
    acme.time_zone = "Europe/Helsinki"
    acme.save()
    nps_survey.account.refresh_from_db()
    # 22:30 UTC on 31 January is 00:30 on 1 February in Helsinki (UTC+2).
    answer(nps_survey, 10, at=datetime(2026, 1, 31, 22, 30, tzinfo=UTC))
    answer(nps_survey, 0, at=datetime(2026, 1, 31, 21, 30, tzinfo=UTC))  # 23:30 local: still January
    with account_scope(acme):
        january = selectors.Scope(acme, (nps_survey,), month_period(2026, 1))
        february = selectors.Scope(acme, (nps_survey,), month_period(2026, 2))
        assert selectors.score_counts(january) == metrics.counts_from_scores([0])
        assert selectors.score_counts(february) == metrics.counts_from_scores([10])
        assert DailyRollup.objects.get(account=acme, s10=1).day == date(2026, 2, 1)
        # The raw path (a property filter forces it) draws the same month boundary.
        raw_feb = selectors.Scope(acme, (nps_survey,), month_period(2026, 2), (("source", "link"),))
        assert selectors.score_counts(raw_feb) == metrics.counts_from_scores([10])


def test_dashboard_numbers_from_rollups_equal_the_raw_rows(acme, nps_survey):
    scores = [10, 9, 9, 8, 6, 5, 10, 0, 7, 9, 10, 3]
    for i, score in enumerate(scores):
        answer(nps_survey, score, at=datetime(2026, 3, 1 + i, 8, tzinfo=UTC))
    with account_scope(acme):
        from_rollups = selectors.score_counts(selectors.Scope(acme, (nps_survey,), month_period(2026, 3)))
        from_raw = selectors.score_counts(selectors.Scope(acme, (nps_survey,), month_period(2026, 3),
                                                          (("source", "link"),)))
    assert from_rollups == from_raw == metrics.counts_from_scores(scores)
    assert metrics.nps(from_rollups).score == metrics.nps(metrics.counts_from_scores(scores)).score
