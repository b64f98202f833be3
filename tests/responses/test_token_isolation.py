"""The token is the door: a link of account A can never read or write account B's data."""
from __future__ import annotations

import json

import pytest

from accounts.scoping import account_scope, cross_account
from responses import services
from responses.models import Answer, Response

pytestmark = pytest.mark.django_db


def test_a_token_opens_only_its_own_accounts_scope(link, globex_link):
    invitation = services.invitation_for_token(globex_link.token)
    assert invitation.account_id == globex_link.invitation.account_id
    with account_scope(invitation.account):
        services.record_response(survey=invitation.survey, invitation=invitation, score=4)
    with account_scope(link.invitation.account):
        assert not Response.objects.exists()  # acme sees none of globex's rows


def test_a_globex_token_cannot_answer_acme_questions(client, globex_link, questions):
    body = {"score": 10, "answers": {str(q.pk): "Speed" for q in questions.values()}}
    response = client.post(globex_link.url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {f"q{q.pk}" for q in questions.values()}
    with cross_account():  # checking the whole table on purpose
        assert not Answer.objects.exists()
        assert not Response.objects.exists()


def test_a_globex_token_page_shows_nothing_of_acme(client, link, globex_link, questions):
    client.post(link.url, {"score": "10", "comment": "acme-secret-comment"})
    for url in (globex_link.url, globex_link.score_url(10), f"{globex_link.url}/thanks"):
        page = client.get(url, follow=True).content.decode()
        assert "acme-secret-comment" not in page
        assert "What did you like most?" not in page
        assert "Acme" not in page


def test_a_globex_form_post_with_acme_question_fields_writes_nothing_for_acme(client, globex_link, questions):
    liked = questions["What did you like most?"]
    client.post(globex_link.url, {"score": "10", f"q{liked.pk}": "Speed"})
    with cross_account():  # checking the whole table on purpose
        assert not Answer.objects.exists()
        assert Response.objects.get().account_id == globex_link.invitation.account_id


def test_a_hash_of_a_token_is_not_a_token(client, link):
    assert client.get(f"/r/{link.invitation.token_hash}").status_code == 404


def test_mallory_signed_in_with_an_acme_token_still_writes_only_into_acme(client, mallory, link):
    client.force_login(mallory)
    client.post(link.url, {"score": "2"})
    with cross_account():  # checking the whole table on purpose
        assert Response.objects.get().account_id == link.invitation.account_id
