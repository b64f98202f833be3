"""Double clicks and concurrent posts on one token: exactly one response (real connections)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.scoping import account_scope
from responses.models import DailyRollup, Response
from responses.rollups import rebuild_rollups
from tests.responses.conftest import mint_link

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


def post_all(urls_and_data: list[tuple[str, dict]]) -> list[int]:
    barrier = threading.Barrier(len(urls_and_data))
    statuses: list[int] = []

    def worker(url: str, data: dict) -> None:
        try:
            barrier.wait()
            statuses.append(Client().post(url, data, HTTP_ACCEPT="application/json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in urls_and_data]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_double_click_gives_exactly_one_response(survey):
    link = mint_link(survey)
    statuses = post_all([(link.score_url(9), {"score": 9})] * 2)
    assert statuses == [200, 200]
    with account_scope(survey.account):
        assert Response.objects.filter(invitation=link.invitation).count() == 1
        assert DailyRollup.objects.get().counts[9] == 1


def test_twenty_concurrent_scores_on_one_token_leave_one_response_and_a_matching_rollup(survey):
    link = mint_link(survey)
    scores = [i % 11 for i in range(20)]
    statuses = post_all([(link.score_url(s), {"score": s}) for s in scores])
    assert statuses == [200] * 20
    with account_scope(survey.account):
        [response] = Response.objects.filter(invitation=link.invitation)
        assert response.score in scores
        [rollup] = DailyRollup.objects.all()
        assert rollup.counts == [1 if i == response.score else 0 for i in range(11)]
        before = sorted(tuple(r.counts) for r in DailyRollup.objects.all())
        rebuild_rollups(account=survey.account)
        assert sorted(tuple(r.counts) for r in DailyRollup.objects.all()) == before


def test_concurrent_full_submits_with_answers_give_one_response_and_one_answer_each(survey, questions):
    link = mint_link(survey)
    ease = questions["How easy was sign-up?"]
    statuses = post_all([(link.url, {"score": "9", "comment": f"c{i}", f"q{ease.pk}": str(1 + i % 5)})
                         for i in range(8)])
    assert all(status == 302 for status in statuses)
    with account_scope(survey.account):
        [response] = Response.objects.filter(invitation=link.invitation)
        assert response.answers.count() == 1
