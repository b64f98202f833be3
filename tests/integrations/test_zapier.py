"""Zapier REST hooks: subscribe, fire, unsubscribe, 410, sample (performList), me and the action."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKeyScope
from accounts.scoping import account_scope
from integrations.models import ZapierSubscription
from surveys.models import Invitation, Person
from tests.factories import ApiKeyFactory, ZapierSubscriptionFactory

ACME_KEY = "vb_acmezap_secret-acme"
GLOBEX_KEY = "vb_globexzap_secret-globex"


@pytest.fixture
def acme_key(acme):
    return ApiKeyFactory(account=acme, raw=ACME_KEY)


@pytest.fixture
def globex_key(globex):
    return ApiKeyFactory(account=globex, raw=GLOBEX_KEY)


def auth(key=ACME_KEY):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def subscribe(client, url, event="response.created", key=ACME_KEY, **extra):
    return client.post(reverse("public_integrations:zapier-subscribe"),
                       json.dumps({"hookUrl": url, "event": event, **extra}), content_type="application/json",
                       **auth(key))


def test_me_answers_with_the_key_account(client, acme_key):
    response = client.get(reverse("public_integrations:zapier-me"), **auth())
    assert response.status_code == 200
    assert response.json()["account"] == {"slug": "acme", "name": "Acme"}


def test_without_a_valid_key_every_endpoint_answers_401(client, acme_key):
    assert client.get(reverse("public_integrations:zapier-me")).status_code == 401
    assert client.get(reverse("public_integrations:zapier-me"), **auth("vb_nope_nope")).status_code == 401
    assert subscribe(client, "https://hooks.zapier.com/x", key="vb_nope_nope").status_code == 401


def test_subscribe_fire_and_unsubscribe(client, acme_key, survey, record, httpserver):
    httpserver.expect_request("/zap").respond_with_data("ok")
    created = subscribe(client, httpserver.url_for("/zap"), score_groups=["detractor"])
    assert created.status_code == 201
    sub_id = created.json()["id"]
    assert subscribe(client, httpserver.url_for("/zap"), score_groups=["detractor"]).json()["id"] == sub_id

    record(survey, 9)  # filtered out: a promoter
    response = record(survey, 2, comment="Late again")
    [entry] = httpserver.log
    body = json.loads(entry[0].get_data())
    assert body["id"] == response.pk and body["score"] == 2 and body["comment"] == "Late again"

    url = reverse("public_integrations:zapier-unsubscribe", kwargs={"pk": sub_id})
    assert client.delete(url, **auth()).status_code == 204
    assert client.delete(url, **auth()).status_code == 404
    record(survey, 1)
    assert len(httpserver.log) == 1


def test_a_410_from_the_target_removes_the_subscription(client, acme_key, acme, survey, record, httpserver):
    httpserver.expect_request("/zap").respond_with_data("gone", status=410)
    subscribe(client, httpserver.url_for("/zap"))
    record(survey, 8)
    with account_scope(acme):
        assert not ZapierSubscription.objects.exists()
    record(survey, 8)
    assert len(httpserver.log) == 1


def test_the_sample_has_the_same_shape_as_the_hook_body(client, acme_key, survey, record, httpserver):
    httpserver.expect_request("/zap").respond_with_data("ok")
    subscribe(client, httpserver.url_for("/zap"))
    record(survey, 7, comment="ok", name="Eve", email="eve@example.com")
    newest = record(survey, 10)
    hook_body = json.loads(httpserver.log[0][0].get_data())
    sample = client.get(reverse("public_integrations:zapier-sample") + "?event=response.created", **auth()).json()
    assert sample[0]["id"] == newest.pk
    assert len(sample) == 2

    def shape(obj):
        if isinstance(obj, dict):
            return {k: shape(v) for k, v in obj.items()}
        return type(obj).__name__

    assert shape(sample[1]) == shape(hook_body)


def test_the_action_creates_a_person_and_schedules_a_survey(client, acme_key, acme, survey):
    response = client.post(reverse("public_integrations:zapier-survey-person"),
                           json.dumps({"email": "new@example.com", "name": "New Person", "survey_id": survey.pk,
                                       "properties": {"plan": "pro"}, "delay": 3600}),
                           content_type="application/json", **auth())
    assert response.status_code == 201, response.content
    with account_scope(acme):
        person = Person.objects.get(email="new@example.com")
        invitation = Invitation.objects.get(person=person)
    assert person.name == "New Person" and person.properties == {"plan": "pro"}
    assert invitation.survey == survey and invitation.scheduled_at > timezone.now()


def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(client, acme_key, acme):
    response = subscribe(client, "https://10.0.0.1/hook")
    assert response.status_code == 400 and "target_url" in response.json()
    response = subscribe(client, "https://hooks.zapier.com/x", event="nope")
    assert response.status_code == 400 and "event" in response.json()
    response = client.post(reverse("public_integrations:zapier-survey-person"), json.dumps({"email": "not-an-email"}),
                           content_type="application/json", **auth())
    assert response.status_code == 400
    with account_scope(acme):
        assert not ZapierSubscription.objects.exists() and not Person.objects.exists()


def test_a_read_only_key_cannot_subscribe(client, acme):
    ApiKeyFactory(account=acme, raw="vb_readonly_key-ro", scope=ApiKeyScope.READ)
    assert subscribe(client, "https://hooks.zapier.com/x", key="vb_readonly_key-ro").status_code == 403


def test_mallory_key_cannot_unsubscribe_or_sample_acme(client, acme, globex_key, survey, record):
    with account_scope(acme):
        sub = ZapierSubscriptionFactory(account=acme)
    record(survey, 3, comment="acme secret")
    url = reverse("public_integrations:zapier-unsubscribe", kwargs={"pk": sub.pk})
    assert client.delete(url, **auth(GLOBEX_KEY)).status_code == 404
    with account_scope(acme):
        assert ZapierSubscription.objects.filter(pk=sub.pk).exists()
    sample = client.get(reverse("public_integrations:zapier-sample"), **auth(GLOBEX_KEY)).json()
    assert sample == []
