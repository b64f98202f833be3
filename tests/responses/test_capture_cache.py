"""The capture door's per-process cache of survey, account and questions (responses.services._survey_parts).

The door reads the rows' content key (ids and row versions) with the invitation; the survey, account and
questions come from the process's cache under that key, as per-request copies. These tests run the real
door against the real database: an edit (saved, ``update()``d or raw SQL) is served at once, a key never
crosses accounts, and no two requests share an instance.
"""
from __future__ import annotations

import json

import pytest
from django.db import connection

from accounts.scoping import account_scope, cross_account
from responses import services
from responses.models import Answer
from surveys.models import Question
from tests.responses.conftest import mint_link

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres_only")]


def door(link):
    return services.invitation_for_token(link.token, capture=True)


def post_json(client, link, body: dict):
    return client.post(link.url, json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


def test_an_edited_question_text_is_served_fresh_on_the_next_request(survey, questions):
    ease = questions["How easy was sign-up?"]
    first = door(mint_link(survey))
    assert "How easy was sign-up?" in [q.text for q in services.survey_questions(first.survey)]
    with account_scope(survey.account):
        Question.objects.filter(pk=ease.pk).update(text="How easy was it?")  # no save(), no signal
    texts = [q.text for q in services.survey_questions(door(mint_link(survey)).survey)]
    assert "How easy was it?" in texts and "How easy was sign-up?" not in texts
    with connection.cursor() as cursor:  # raw SQL too: the row version is the key, not who wrote it
        cursor.execute("UPDATE surveys_question SET text = 'Raw edit' WHERE id = %s", [ease.pk])
    assert "Raw edit" in [q.text for q in services.survey_questions(door(mint_link(survey)).survey)]


def test_a_new_choice_validates_on_the_next_submit_and_a_removed_one_is_refused(client, survey, questions):
    liked = questions["What did you like most?"]
    assert post_json(client, mint_link(survey), {"score": 10, "answers": {str(liked.pk): "Support"}}).status_code == 200
    with account_scope(survey.account):
        Question.objects.filter(pk=liked.pk).update(choices=["Speed", "Quality"])
    assert post_json(client, mint_link(survey), {"score": 10, "answers": {str(liked.pk): "Quality"}}).status_code == 200
    refused = post_json(client, mint_link(survey), {"score": 10, "answers": {str(liked.pk): "Support"}})
    assert refused.status_code == 400 and f"q{liked.pk}" in refused.json()["errors"]


def test_added_and_deleted_questions_and_survey_and_account_edits_are_served_fresh(survey, questions):
    door(mint_link(survey))
    with account_scope(survey.account):
        added = Question.objects.create(account=survey.account, survey=survey, position=9,
                                        kind=Question.Kind.TEXT, text="Anything else?")
        Question.objects.filter(pk=questions["Was your issue resolved?"].pk).delete()
        type(survey).objects.filter(pk=survey.pk).update(scale_max=5)
        type(survey.account).objects.filter(pk=survey.account.pk).update(edit_window_days=3)
    invitation = door(mint_link(survey))
    pks = [q.pk for q in services.survey_questions(invitation.survey)]
    assert added.pk in pks and questions["Was your issue resolved?"].pk not in pks
    assert invitation.survey.scale_max == 5 and invitation.account.edit_window_days == 3


def test_account_bs_token_never_gets_account_as_cached_survey(client, survey, questions, globex_survey):
    acme_link, globex_link = mint_link(survey), mint_link(globex_survey)
    acme_invitation = door(acme_link)
    invitation = door(globex_link)
    assert invitation.survey.pk == globex_survey.pk and invitation.account.pk == globex_survey.account_id
    assert invitation.survey.account is invitation.account and services.survey_questions(invitation.survey) == []
    # Even a poisoned entry under globex's key (it cannot arise: the key names the account and survey ids
    # the door read from the token's own invitation row) is refused and read again.
    globex_key = next(k for k, v in services._survey_cache.items() if v[0].pk == globex_survey.pk)
    services._survey_cache[globex_key] = services._survey_cache[next(
        k for k, v in services._survey_cache.items() if v[0].pk == survey.pk)]
    invitation = door(mint_link(globex_survey))
    assert invitation.survey.pk == globex_survey.pk and invitation.account.pk == globex_survey.account_id
    assert services.survey_questions(invitation.survey) == []
    # And end to end: globex's token cannot answer acme's questions, cached or not.
    body = {"score": 10, "answers": {str(q.pk): "Speed" for q in questions.values()}}
    response = post_json(client, mint_link(globex_survey), body)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {f"q{q.pk}" for q in questions.values()}
    with cross_account():
        assert not Answer.objects.exists()
    assert acme_invitation.survey.pk == survey.pk


def test_copies_are_not_shared_between_requests(survey, questions):
    first, second = door(mint_link(survey)), door(mint_link(survey))
    first_questions = services.survey_questions(first.survey)
    second_questions = services.survey_questions(second.survey)
    assert first.survey is not second.survey and first.account is not second.account
    assert first_questions is not second_questions
    assert not {id(q) for q in first_questions} & {id(q) for q in second_questions}
    # Within a request, everything points at that request's one survey and one account.
    assert first.survey.account is first.account is first.person.account
    assert all(q.survey is first.survey and q.account is first.account for q in first_questions)
    # What one request does to its instances, the next request (and the cache) never sees.
    first.survey.name = "changed"
    first.account.name = "changed"
    first_questions[0].text = "changed"
    first_questions.append(first_questions[0])
    first.survey._state.fields_cache.clear()
    first_questions[1].survey = second.survey  # a cached relation of the copy, not of the cached row
    third = door(mint_link(survey))
    third_questions = services.survey_questions(third.survey)
    assert third.survey.name == survey.name and third.account.name == survey.account.name
    assert [q.text for q in third_questions] == [q.text for q in second_questions] != [q.text for q in first_questions]
    assert len(third_questions) == len(questions)
    assert all(q.survey is third.survey for q in third_questions)
    for survey_row, account_row, question_rows in services._survey_cache.values():
        assert survey_row.name != "changed" and account_row.name != "changed"
        assert "changed" not in [q.text for q in question_rows]
        assert not survey_row._state.fields_cache and not any(q._state.fields_cache for q in question_rows)


def test_the_cache_is_bounded(survey, monkeypatch):
    monkeypatch.setattr(services, "SURVEY_CACHE_SIZE", 2)
    services._survey_cache.clear()
    for _ in range(4):
        with account_scope(survey.account):
            type(survey).objects.filter(pk=survey.pk).update(name=f"NPS {_}")  # a new key each time
        assert door(mint_link(survey)).survey.name == f"NPS {_}"
        assert len(services._survey_cache) <= 2
