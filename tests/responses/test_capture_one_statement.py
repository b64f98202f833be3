"""The PostgreSQL first-answer path (responses/capture_pg.py): the door and one write statement.

Each test posts to the real token URL, so the answer goes through the capture door, and checks that
what the one statement wrote is what the general path writes: the response and its answers, the
person, the events, the rollups (equal to a rebuild from the raw rows), the case with its history
and the follow-up row. ``general_path_writes`` proves which path ran: the general path writes
through Django's cursor, the one statement does not.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.events import Event
from accounts.scoping import account_scope
from reports.models import SegmentRollup
from responses.cases import case_settings
from responses.followups import save_follow_up_rule
from responses.models import Answer, Case, CaseEvent, CaseRule, DailyRollup, FollowUp, Response
from responses.rollups import rebuild_rollups
from surveys.models import Person
from tests.responses.conftest import mint_link

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres_only")]


def post_json(client, link, body: dict) -> tuple[int, dict, list[str]]:
    """POST the respondent's JSON submit; (status, body, the INSERT/UPDATEs Django's cursor ran)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post(link.url, json.dumps(body), content_type="application/json",
                               HTTP_ACCEPT="application/json")
    writes = [q["sql"][:60] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(
        ("INSERT", "UPDATE", "WITH"))]
    return response.status_code, response.json(), writes


def rollup_snapshot(account) -> tuple[list, list]:
    with account_scope(account):
        daily = sorted((r.survey_id, r.day, r.channel, r.shard, tuple(r.counts), r.comments)
                       for r in DailyRollup.objects.all())
        segments = sorted((r.survey_id, r.day, r.key, r.value, r.shard, tuple(r.counts), r.comments)
                          for r in SegmentRollup.objects.all())
    return daily, segments


@pytest.fixture
def cases_on(survey):
    with account_scope(survey.account):
        return case_settings(survey.account)


def test_a_detractors_first_answer_writes_everything_in_one_statement(client, survey, questions, cases_on):
    link = mint_link(survey, properties={"agent": "anna", "channel": "chat"})
    resolved, ease = questions["Was your issue resolved?"], questions["How easy was sign-up?"]
    status, body, general_path_writes = post_json(client, link, {
        "score": 3, "comment": "Slow answers", "answers": {str(resolved.pk): "no", str(ease.pk): 2}})
    assert status == 200, body
    assert general_path_writes == []  # nothing went through the general path's statements
    with account_scope(survey.account):
        response = Response.objects.get(invitation=link.invitation)
        assert body["id"] == response.pk
        assert (response.score, response.comment, response.properties) == (3, "Slow answers",
                                                                            {"agent": "anna", "channel": "chat"})
        assert response.completed_at == response.created_at
        assert {a.question_id: a.value for a in Answer.objects.filter(response=response)} == {
            resolved.pk: False, ease.pk: 2}
        assert Person.objects.get(pk=link.invitation.person_id).last_responded_at == response.created_at
        case = Case.objects.get(response=response)
        assert (case.group, case.person_id, case.status) == ("detractor", response.person_id, "open")
        assert CaseEvent.objects.get(case=case).kind == "opened"
        events = {e.kind: e.payload for e in Event.objects.filter(account=survey.account)}
        assert events["response.created"] == {"response_id": response.pk}
        assert events["case.created"]["case_id"] == case.pk
        assert events["case.created"]["response_id"] == response.pk
    before = rollup_snapshot(survey.account)
    assert len(before[0]) == 1 and len(before[1]) == 5  # one daily row, one per segment key
    with account_scope(survey.account):
        rebuild_rollups(account=survey.account)
    assert rollup_snapshot(survey.account) == before


def test_a_promoter_gets_the_follow_up_row_of_the_rule(client, survey, cases_on):
    with account_scope(survey.account):
        rule = save_follow_up_rule(account=survey.account, group="promoter", subject="Thanks!", body="Review us?",
                                   delay_minutes=30)
    link = mint_link(survey)
    status, body, general_path_writes = post_json(client, link, {"score": 10})
    assert status == 200 and general_path_writes == []
    with account_scope(survey.account):
        response = Response.objects.get(pk=body["id"])
        follow_up = FollowUp.objects.get(response=response)
        assert (follow_up.rule_id, follow_up.group, follow_up.status) == (rule.pk, "promoter", "scheduled")
        assert follow_up.due_at == response.created_at + timedelta(minutes=30)
        assert not Case.objects.filter(response=response).exists()


def test_an_edited_case_rule_applies_to_the_very_next_answer(client, survey, cases_on):
    first, second, third = mint_link(survey), mint_link(survey), mint_link(survey)
    assert post_json(client, first, {"score": 2})[0] == 200
    with account_scope(survey.account):
        assert Case.objects.filter(response__invitation=first.invitation).exists()
        CaseRule.objects.filter(account=survey.account).update(active=False)
    assert post_json(client, second, {"score": 2})[0] == 200
    with account_scope(survey.account):
        assert not Case.objects.filter(response__invitation=second.invitation).exists()
        CaseRule.objects.filter(account=survey.account).update(active=True)
    assert post_json(client, third, {"score": 2})[0] == 200
    with account_scope(survey.account):
        assert Case.objects.filter(response__invitation=third.invitation).exists()


def test_a_second_post_updates_the_same_response_through_the_locked_path(client, survey, questions, cases_on):
    link = mint_link(survey)
    assert post_json(client, link, {"score": 4})[0] == 200
    liked = questions["What did you like most?"]
    status, body, general_path_writes = post_json(
        client, link, {"score": 9, "answers": {str(liked.pk): {"value": "other", "other": "The team"}}})
    assert status == 200, body
    assert general_path_writes  # the update took the general, locked path
    with account_scope(survey.account):
        [response] = Response.objects.filter(invitation=link.invitation)
        assert response.score == 9
        assert Answer.objects.get(response=response).other_text == "The team"
        kinds = sorted(Event.objects.filter(account=survey.account).values_list("kind", flat=True))
        assert kinds == ["case.created", "response.created", "response.updated"]
    before = rollup_snapshot(survey.account)
    with account_scope(survey.account):
        rebuild_rollups(account=survey.account)
    assert rollup_snapshot(survey.account) == before


def test_the_first_answer_of_an_account_without_case_settings_takes_the_general_path(client, survey):
    link = mint_link(survey)
    status, _body, general_path_writes = post_json(client, link, {"score": 1})
    assert status == 200 and general_path_writes
    with account_scope(survey.account):
        assert Case.objects.filter(response__invitation=link.invitation).exists()  # settings made on first use
