"""Verbatim's REST API (/api/v1/): keys and scopes, sessions, pagination, filters, idempotency, errors."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope
from surveys.models import Invitation, Person
from tests.api.conftest import new_key
from tests.factories import PersonFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_key_reads_its_account_and_a_bad_key_gets_401_in_the_error_shape(client, acme, acme_key):
    assert client.get("/api/v1/account", **auth(acme_key)).json()["slug"] == "acme"
    response = client.get("/api/v1/account", **auth("vb_nope_nope"))
    assert response.status_code == 401 and response.json()["status"] == 401
    assert client.get("/api/v1/account").status_code in (401, 403)


def test_people_create_upserts_lists_with_a_cursor_and_filters_by_email(client, acme, acme_key):
    for i in range(3):
        created = client.post("/api/v1/people", {"email": f"P{i}@x.com", "properties": {"plan": "pro"}},
                              content_type="application/json", **auth(acme_key))
        assert created.status_code == 201 and created.json()["email"] == f"p{i}@x.com"
    first = client.get("/api/v1/people?per_page=2", **auth(acme_key)).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"], **auth(acme_key)).json()
    assert len(second["results"]) == 1 and second["next"] is None
    only = client.get("/api/v1/people?email=p1%40x.com", **auth(acme_key)).json()["results"]
    assert [p["email"] for p in only] == ["p1@x.com"]


def test_bad_input_is_400_naming_the_field_and_nothing_is_written(client, acme, acme_key):
    for body, field in (({"email": "nope"}, "email"), ({"email": "a@x.com", "name": "n" * 300}, "name"),
                        ({"email": "a@x.com", "properties": "x"}, "properties")):
        response = client.post("/api/v1/people", body, content_type="application/json", **auth(acme_key))
        assert response.status_code == 400, response.content
        assert response.json()["status"] == 400 and field in response.json()["errors"]
    with account_scope(acme):
        assert not Person.objects.exists()


def test_an_invitation_post_with_an_idempotency_key_creates_one_invitation(client, acme, acme_key):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        person = PersonFactory(account=acme)
    body = {"survey": survey.pk, "person": person.pk, "properties": {"order": "42"}}
    first = client.post("/api/v1/invitations", body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="order-42", **auth(acme_key))
    again = client.post("/api/v1/invitations", body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="order-42", **auth(acme_key))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = client.post("/api/v1/invitations", {**body, "channel": "sms"}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="order-42", **auth(acme_key))
    assert other.status_code == 400 and "Idempotency-Key" in other.json()["errors"]
    with account_scope(acme):
        assert Invitation.objects.count() == 1


def test_a_read_key_cannot_write_and_is_told_the_missing_scope(client, acme):
    read_key = new_key(acme, scope="read")
    assert client.get("/api/v1/people", **auth(read_key)).status_code == 200
    response = client.post("/api/v1/people", {"email": "a@x.com"}, content_type="application/json", **auth(read_key))
    assert response.status_code == 403 and response.json()["required_scope"] == "write"


def test_responses_filter_by_survey_group_property_tag_and_dates(client, acme, acme_key):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        other = SurveyFactory(account=acme)
        old = timezone.now() - timedelta(days=10)
        promoter = ResponseFactory(account=acme, survey=survey, score=10, properties={"plan": "pro"}, tags=["vip"])
        detractor = ResponseFactory(account=acme, survey=survey, score=2, properties={"plan": "free"},
                                    created_at=old)
        ResponseFactory(account=acme, survey=other, score=9)

    def ids(query: str) -> list[int]:
        return [r["id"] for r in client.get(f"/api/v1/responses?{query}", **auth(acme_key)).json()["results"]]

    assert set(ids(f"survey={survey.pk}")) == {promoter.pk, detractor.pk}
    assert ids(f"survey={survey.pk}&group=detractor") == [detractor.pk]
    assert ids("properties[plan]=pro") == [promoter.pk]
    assert ids("tag=vip") == [promoter.pk]
    assert detractor.pk not in ids(f"created_after={(old + timedelta(days=1)).isoformat().replace('+00:00', 'Z')}")
    assert client.get("/api/v1/responses?group=nope", **auth(acme_key)).status_code == 400
    detail = client.get(f"/api/v1/responses/{promoter.pk}", **auth(acme_key)).json()
    assert detail["group"] == "promoter" and detail["tags"] == ["vip"]


def test_survey_metrics_match_the_nps_definition_with_a_margin(client, acme, acme_key):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
    person = client.post("/api/v1/people", {"email": "m@x.com"}, content_type="application/json",
                         **auth(acme_key)).json()
    from integrations.delighted.services import create_response

    with account_scope(acme):
        for score in (10, 9, 2, 8):
            create_response(survey=survey, person=Person.objects.get(pk=person["id"]), score=score, comment=None,
                            properties={}, created_at=None)
    metrics = client.get(f"/api/v1/surveys/{survey.pk}/metrics", **auth(acme_key)).json()
    assert metrics["value"] == 25.0 and metrics["total"] == 4 and metrics["margin"] > 0


@pytest.mark.parametrize("query", ["since=", "until=", "since=yesterday",
                                   "since=2026-02-01T00:00:00Z&until=2026-01-01"])
def test_survey_metrics_refuse_a_bad_or_empty_period_naming_the_parameter(client, acme, acme_key, query):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
    response = client.get(f"/api/v1/surveys/{survey.pk}/metrics?{query}", **auth(acme_key))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"since" if query.startswith("since") else "until"}


def test_a_session_user_acts_in_the_account_named_by_x_account(client, acme, alice, bob):
    client.force_login(alice)
    assert client.get("/api/v1/account", HTTP_X_ACCOUNT="acme").json()["slug"] == "acme"
    created = client.post("/api/v1/suppressions", {"email": "stop@x.com"}, content_type="application/json",
                          HTTP_X_ACCOUNT="acme")
    assert created.status_code == 201
    client.force_login(bob)  # a viewer reads but does not write
    assert client.get("/api/v1/suppressions", HTTP_X_ACCOUNT="acme").status_code == 200
    assert client.post("/api/v1/suppressions", {"email": "b@x.com"}, content_type="application/json",
                       HTTP_X_ACCOUNT="acme").status_code == 403


def test_the_rest_api_rate_limit_answers_429_with_retry_after(client, acme, acme_key, settings):
    settings.API_RATE_LIMIT = "2/60"
    for _ in range(2):
        assert client.get("/api/v1/account", **auth(acme_key)).status_code == 200
    limited = client.get("/api/v1/account", **auth(acme_key))
    assert limited.status_code == 429 and limited["Retry-After"].isdigit() and limited.json()["status"] == 429


def test_the_schema_and_the_explorer_are_served_without_third_party_assets(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/responses" in schema.json()["paths"]
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"/api/schema/" in page.content
    assert b"cdn" not in page.content.lower() and b"https://" not in page.content


def test_mallory_cannot_read_or_use_acme_ids(client, acme, globex, acme_key, mallory):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        person = PersonFactory(account=acme)
        response = ResponseFactory(account=acme, survey=survey, person=person)
    globex_key = new_key(globex)
    for url in (f"/api/v1/people/{person.pk}", f"/api/v1/surveys/{survey.pk}", f"/api/v1/responses/{response.pk}",
                f"/api/v1/surveys/{survey.pk}/metrics"):
        assert client.get(url, **auth(globex_key)).status_code == 404
    invite = client.post("/api/v1/invitations", {"survey": survey.pk, "person": person.pk},
                         content_type="application/json", **auth(globex_key))
    assert invite.status_code == 400 and set(invite.json()["errors"]) == {"survey", "person"}
    client.force_login(mallory)
    assert client.get(f"/api/v1/people/{person.pk}", HTTP_X_ACCOUNT="acme").status_code == 404
    assert client.get("/api/v1/people", HTTP_X_ACCOUNT="acme").status_code == 404
    assert client.get("/api/v1/people").json()["results"] == []  # her own account: globex


def test_every_rest_api_route_is_in_the_openapi_schema(client):
    import re

    from django.urls import get_resolver

    from tests.api.test_api_isolation import walk

    # /v1/ (Delighted-compatible) is in the schema too: tests/api/test_delighted_openapi.py checks it
    documented = {path for path in client.get("/api/schema/?format=json").json()["paths"]
                  if path.startswith("/api/")}
    routes = set()
    for name, _kwargs, route in walk(get_resolver().url_patterns):
        if name.startswith("restapi:") and name not in ("restapi:schema", "restapi:docs"):
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", lambda m: "{id}", route)
            routes.add("/" + path.replace("^", "").replace("$", "").replace("\\.", "."))
    assert routes == documented


def test_a_send_over_the_hourly_quota_is_429_with_retry_after_and_writes_nothing(client, acme, acme_key):
    acme.send_quota_hourly = 2
    acme.save()
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        people = [PersonFactory(account=acme) for _ in range(3)]
        now = timezone.now()
        for person in people[:2]:  # two emails handed to the mail server in the last hour
            Invitation.objects.create(account=acme, survey=survey, person=person, status=Invitation.Status.SENT,
                                      sent_at=now - timedelta(minutes=5))
    body = {"survey": survey.pk, "person": people[2].pk}
    refused = client.post("/api/v1/invitations", body, content_type="application/json", **auth(acme_key))
    assert refused.status_code == 429, refused.content
    assert int(refused["Retry-After"]) > 0 and "quota" in refused.json()["detail"]
    later = {**body, "scheduled_at": (timezone.now() + timedelta(hours=2)).isoformat()}
    assert client.post("/api/v1/invitations", later, content_type="application/json",
                       **auth(acme_key)).status_code == 201  # scheduling for later is still fine
    with account_scope(acme):
        assert Invitation.objects.filter(person=people[2]).count() == 1


def test_a_path_no_route_matches_answers_the_json_error_shape_under_the_apis(client, acme_key):
    for path in ("/api/v1/surveys/%0A/metrics", "/api/v1/nothing-here", "/v1/nothing-here.json"):
        response = client.get(path, **auth(acme_key))
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json() == {"status": 404, "message": "Not Found"}
    assert client.get("/no-such-page").status_code == 404
