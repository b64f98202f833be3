"""The web widget's CORS endpoints under /w/: config, answer, dismiss; throttled; signed nonce, no cookies."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope
from responses.models import Response
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
ORIGIN = "https://app.customer.example"


def config(client, survey, **params):
    return client.get(f"/w/{survey.public_id}/config", params, HTTP_ORIGIN=ORIGIN)


def answer(client, survey, body):
    return client.post(f"/w/{survey.public_id}/responses", json.dumps(body), content_type="application/json",
                       HTTP_ORIGIN=ORIGIN)


def test_the_widget_gets_its_config_with_cors_headers(client, survey):
    response = config(client, survey, email="dana@customer.example")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    data = response.json()
    assert data["show"] is True and data["scores"] == list(range(11)) and data["nonce"]
    assert "Acme" in data["question"]


def test_the_preflight_allows_a_cross_origin_json_post(client, survey):
    response = client.options(f"/w/{survey.public_id}/responses", HTTP_ORIGIN=ORIGIN,
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert response.status_code == 200
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_a_widget_answer_is_recorded_for_the_signed_in_user(client, survey):
    nonce = config(client, survey, email="dana@customer.example", user_id="u-7").json()["nonce"]
    response = answer(client, survey, {"nonce": nonce, "score": 9, "comment": "Nice", "properties": {"plan": "pro"}})
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    with account_scope(survey.account):
        saved = Response.objects.get(pk=response.json()["id"])
        assert (saved.channel, saved.score, saved.comment) == ("widget", 9, "Nice")
        assert saved.person.email == "dana@customer.example"
        assert saved.properties == {"plan": "pro", "user_id": "u-7"}
    assert config(client, survey, email="dana@customer.example").json() == {"show": False}  # throttled now


def test_the_widget_stays_hidden_inside_the_throttle_window(client, survey):
    with account_scope(survey.account):
        PersonFactory(account=survey.account, email="eve@customer.example",
                      last_surveyed_at=timezone.now() - timedelta(days=3))
        PersonFactory(account=survey.account, email="old@customer.example",
                      last_surveyed_at=timezone.now() - timedelta(days=40))
    assert config(client, survey, email="eve@customer.example").json() == {"show": False}
    assert config(client, survey, email="old@customer.example").json()["show"] is True


def test_dismissing_the_widget_counts_as_surveyed(client, survey):
    with account_scope(survey.account):
        PersonFactory(account=survey.account, email="fay@customer.example")
    nonce = config(client, survey, email="fay@customer.example").json()["nonce"]
    response = client.post(f"/w/{survey.public_id}/dismiss", json.dumps({"nonce": nonce}),
                           content_type="application/json")
    assert response.status_code == 200
    assert config(client, survey, email="fay@customer.example").json() == {"show": False}


@pytest.mark.parametrize(("body", "field"), [
    ({"nonce": "forged", "score": 9}, "nonce"),
    ({"score": 9}, "nonce"),
    ({"nonce": None, "score": 42}, "score"),
    ({"nonce": None, "score": 9, "properties": ["x"]}, "properties"),
])
def test_bad_widget_posts_get_a_400_naming_the_field(client, survey, body, field):
    if body.get("nonce", "") is None:
        body["nonce"] = config(client, survey, email="gil@customer.example").json()["nonce"]
    response = answer(client, survey, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with account_scope(survey.account):
        assert not Response.objects.exists()


def test_a_nonce_of_another_survey_is_refused(client, survey, globex_survey):
    nonce = config(client, globex_survey, email="m@globex.example").json()["nonce"]
    response = answer(client, survey, {"nonce": nonce, "score": 9})
    assert response.status_code == 400
    assert "nonce" in response.json()["errors"]


def test_the_widget_sets_no_cookies(client, survey):
    assert not config(client, survey, email="h@customer.example").cookies


def test_mallory_cannot_post_into_acme_with_a_globex_widget_nonce(client, mallory, survey, globex_survey):
    client.force_login(mallory)
    nonce = config(client, globex_survey, email="m@globex.example").json()["nonce"]
    assert answer(client, survey, {"nonce": nonce, "score": 0}).status_code == 400
    with account_scope(survey.account):
        assert not Response.objects.exists()
