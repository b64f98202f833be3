"""The experiment report on constructed data with a known answer."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.scoping import account_scope, cross_account
from responses import case_selectors
from surveys.models import Suppression
from tests.factories import CaseFactory, PersonFactory, ResponseFactory, SuppressionFactory, SurveyFactory


def build_arm(account, survey, *, holdout: bool, cases: int, higher: int, promoters: int, unsubscribed: int,
              silent: int = 0) -> None:
    """``cases`` detractor cases (score 3); of those answering again, ``higher`` answer 5 or more, among which
    ``promoters`` answer 9; ``silent`` never answer again; the first ``unsubscribed`` people unsubscribe."""
    start = timezone.now() - timedelta(days=30)
    for i in range(cases):
        person = PersonFactory(account=account)
        first = ResponseFactory(account=account, survey=survey, person=person, score=3, created_at=start)
        case = CaseFactory(account=account, response=first, person=person, experiment=True, holdout=holdout,
                           created_at=start)
        if i < unsubscribed:
            SuppressionFactory(account=account, email=person.email, reason=Suppression.Reason.UNSUBSCRIBED,
                               created_at=case.created_at + timedelta(days=1))
        if i >= cases - silent:
            continue
        score = 9 if i < promoters else 5 if i < higher else 2
        ResponseFactory(account=account, survey=survey, person=person, score=score,
                        created_at=start + timedelta(days=10))


def test_contacted_detractors_improving_more_often_gets_a_significant_verdict(acme):
    with cross_account():
        survey = SurveyFactory(account=acme)
        build_arm(acme, survey, holdout=False, cases=60, higher=45, promoters=30, unsubscribed=3)
        build_arm(acme, survey, holdout=True, cases=60, higher=15, promoters=6, unsubscribed=3, silent=10)
    with account_scope(acme):
        report = case_selectors.holdout_report(acme)
    contacted, held = report["contacted"], report["holdout"]
    assert (contacted.cases, contacted.answered_again, held.cases, held.answered_again) == (60, 60, 60, 50)
    improved, became, unsub = report["comparisons"]
    assert (improved.contacted.successes, improved.contacted.total) == (45, 60)
    assert (improved.holdout.successes, improved.holdout.total) == (15, 50)
    assert (became.contacted.successes, became.holdout.successes) == (30, 6)  # 9s only: 5 is a detractor
    assert improved.change.significant and round(improved.change.delta) == 45  # 75% vs 30%
    assert improved.contacted.low < 0.75 < improved.contacted.high
    assert "more likely" in improved.verdict and "higher score" in improved.verdict
    assert (unsub.contacted.successes, unsub.holdout.successes) == (3, 3)
    assert not unsub.change.significant and unsub.verdict == ""


def test_a_small_difference_gets_no_verdict(acme):
    with cross_account():
        survey = SurveyFactory(account=acme)
        build_arm(acme, survey, holdout=False, cases=10, higher=5, promoters=2, unsubscribed=0)
        build_arm(acme, survey, holdout=True, cases=10, higher=4, promoters=2, unsubscribed=1)
    with account_scope(acme):
        report = case_selectors.holdout_report(acme)
    assert all(c.verdict == "" for c in report["comparisons"])


def test_an_unsubscribe_before_the_case_does_not_count(acme):
    with cross_account():
        survey = SurveyFactory(account=acme)
        build_arm(acme, survey, holdout=True, cases=2, higher=0, promoters=0, unsubscribed=0)
        case = acme.cases.first()
        SuppressionFactory(account=acme, email=case.person.email, reason=Suppression.Reason.UNSUBSCRIBED,
                           created_at=case.created_at - timedelta(days=1))
    with account_scope(acme):
        assert case_selectors.holdout_report(acme)["holdout"].unsubscribed.successes == 0
