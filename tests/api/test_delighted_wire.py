"""Raw HTTP against /v1/: the wire rules other clients rely on (PHP forms, Ruby/Node colon auth, Node queries)."""
from __future__ import annotations

import base64
import json

import pytest

from accounts.scoping import account_scope
from surveys.models import Autopilot, Invitation, Person
from tests.api.conftest import new_key
from tests.factories import PersonFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def basic(key: str, colon: bool = True) -> str:
    return "Basic " + base64.b64encode(f"{key}{':' if colon else ''}".encode()).decode()


def call(client, method: str, path: str, key: str | None, *, data=None, form: str | None = None, **headers):
    extra = {"HTTP_AUTHORIZATION": basic(key)} if key else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    if form is not None:
        return client.generic(method, path, form, content_type="application/x-www-form-urlencoded", **extra)
    if data is not None:
        return client.generic(method, path, json.dumps(data), content_type="application/json", **extra)
    return client.generic(method, path, **extra)


def test_ruby_and_node_colon_auth_python_colonless_auth_and_bearer_all_work(client, acme, acme_key):
    for header in (basic(acme_key, colon=True), basic(acme_key, colon=False), f"Bearer {acme_key}"):
        response = client.get("/v1/people", HTTP_AUTHORIZATION=header, HTTP_ACCEPT="application/json")
        assert response.status_code == 200 and response.json() == []


def test_a_missing_or_wrong_key_or_a_key_in_the_query_string_is_401_json(client, acme, acme_key):
    for response in (client.get("/v1/people.json"),
                     client.get("/v1/people.json", HTTP_AUTHORIZATION=basic("vb_nope_nope")),
                     client.get(f"/v1/people.json?api_key={acme_key}")):
        assert response.status_code == 401
        assert response.json() == {"status": 401, "message": "Unauthorized"}


def test_the_json_suffix_is_optional_and_a_trailing_slash_never_redirects(client, acme, acme_key):
    assert call(client, "GET", "/v1/metrics.json", acme_key).status_code == 200
    assert call(client, "GET", "/v1/metrics", acme_key).status_code == 200
    for method in ("GET", "POST", "DELETE"):
        response = call(client, method, "/v1/people/", acme_key, data={"email": "a@x.com"})
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["status"] == 404


def test_php_form_bodies_with_rails_brackets_and_string_booleans(client, acme, acme_key):
    form = "email=foo%40bar.com&send=false&name=Foo&properties%5BPlan%5D=Pro&properties%5BSeats%5D=3"
    response = call(client, "POST", "/v1/people", acme_key, form=form)
    assert response.status_code == 201
    body = response.json()
    assert body["survey_scheduled_at"] is None and body["properties"] == {"Plan": "Pro", "Seats": "3"}
    assert isinstance(body["id"], str)
    form = f"person={body['id']}&score=9&comment=Great&person_properties%5BSource%5D=php"
    created = call(client, "POST", "/v1/survey_responses.json", acme_key, form=form)
    assert created.status_code == 201 and created.json()["person_properties"] == {"Source": "php"}
    with account_scope(acme):
        assert not Invitation.objects.exists()
        assert Person.objects.get().name == "Foo"


def test_query_params_on_post_merge_with_the_body(client, acme, acme_key):
    response = call(client, "POST", "/v1/people?send=false", acme_key, data={"email": "q@x.com"})
    assert response.status_code == 201 and response.json()["survey_scheduled_at"] is None


def test_node_deletes_autopilot_members_with_a_query_string(client, acme, acme_key):
    with account_scope(acme):
        from integrations.delighted.services import survey_for_key

        Autopilot.objects.create(account=acme, survey=survey_for_key(acme.api_keys.get()))
    call(client, "POST", "/v1/autopilot/email/memberships", acme_key, data={"email": "n@x.com"})
    response = call(client, "DELETE", "/v1/autopilot/email/memberships?person_email=n%40x.com", acme_key)
    assert response.status_code == 200 and response.json()["person"]["email"] == "n@x.com"


def test_expand_without_brackets_and_get_bodies_are_ignored(client, acme, acme_key):
    with account_scope(acme):
        from integrations.delighted.services import survey_for_key

        survey = survey_for_key(acme.api_keys.get())
        person = PersonFactory(account=acme, email="e@x.com")
        response = ResponseFactory(account=acme, survey=survey, person=person, score=7)
    got = client.generic("GET", f"/v1/survey_responses/{response.pk}?expand=person", "{}",
                         HTTP_AUTHORIZATION=basic(acme_key))
    assert got.status_code == 200 and got.json()["person"]["email"] == "e@x.com"
    both = call(client, "GET", "/v1/survey_responses?expand[]=person&expand[]=notes", acme_key).json()
    assert both[0]["person"]["id"] == str(person.pk) and both[0]["notes"] == []


def test_percent_encoded_identifiers_keep_their_plus_sign(client, acme, acme_key):
    with account_scope(acme):
        PersonFactory(account=acme, email="a+b@x.com")
        PersonFactory(account=acme, email=None, phone_number="+14155551212")
    assert call(client, "GET", "/v1/people/email%3Aa%2Bb%40x.com", acme_key).json()["email"] == "a+b@x.com"
    response = call(client, "DELETE", "/v1/people/phone_number%3A%2B14155551212.json", acme_key, data={})
    assert response.status_code == 202 and response.json() == {"ok": True}


def test_406_only_without_the_suffix_and_an_accept_that_excludes_json(client, acme, acme_key):
    assert call(client, "GET", "/v1/people", acme_key, accept="text/html").status_code == 406
    assert call(client, "GET", "/v1/people.json", acme_key, accept="text/html").status_code == 200
    assert call(client, "GET", "/v1/people", acme_key, accept="*/*").status_code == 200
    assert call(client, "GET", "/v1/people", acme_key, accept="text/html").json()["status"] == 406


def test_bad_input_is_422_with_the_field_named_and_nothing_written(client, acme, acme_key):
    cases = [
        ("/v1/people", {"email": "x@x.com", "name": "n" * 256}, "name"),
        ("/v1/people", {"email": "x@x.com", "properties": "oops"}, "properties"),
        ("/v1/people", {"email": "x@x.com", "delay": "soon"}, "delay"),
        ("/v1/people", {"phone_number": "0800", "channel": "sms"}, "phone_number"),
        ("/v1/people", {"email": "x@x.com", "send": "maybe"}, "send"),
        ("/v1/people", {}, "email"),
        ("/v1/survey_responses", {"person": "1"}, "score"),
    ]
    for path, data, field in cases:
        response = call(client, "POST", path, acme_key, data=data)
        assert response.status_code == 422, (data, response.content)
        body = response.json()
        assert body["status"] == 422 and body["message"] == "Unprocessable Entity" and field in body["errors"]
    assert call(client, "GET", "/v1/survey_responses?per_page=1000", acme_key).status_code == 422
    assert call(client, "POST", "/v1/people", acme_key, form="").status_code == 422
    bad_json = client.generic("POST", "/v1/people", "{not json", content_type="application/json",
                              HTTP_AUTHORIZATION=basic(acme_key))
    assert bad_json.status_code == 400 and bad_json.json()["status"] == 400
    with account_scope(acme):
        assert not Person.objects.exists()


def test_unknown_ids_are_404_json_and_the_put_ignores_read_only_keys(client, acme, acme_key):
    for path in ("/v1/survey_responses/999999", "/v1/survey_responses/abc", "/v1/people/999999",
                 "/v1/autopilot/fax"):
        response = call(client, "GET", path, acme_key)
        assert response.status_code == 404 and response.json() == {"status": 404, "message": "Not Found"}
    with account_scope(acme):
        from integrations.delighted.services import survey_for_key

        response = ResponseFactory(account=acme, survey=survey_for_key(acme.api_keys.get()), score=3)
    put = call(client, "PUT", f"/v1/survey_responses/{response.pk}", acme_key,
               data={"id": "1", "score": 4, "survey_type": "nps", "permalink": "x", "notes": [], "tags": ["a"],
                     "created_at": 1, "updated_at": 2, "additional_answers": [], "unknown": True})
    assert put.status_code == 200 and put.json()["score"] == 4 and put.json()["id"] == str(response.pk)


def test_the_rate_limit_is_per_key_with_an_integer_retry_after(client, acme, acme_key, settings):
    settings.API_RATE_LIMIT = "3/60"
    other = new_key(acme)
    for _ in range(3):
        assert call(client, "GET", "/v1/people", acme_key).status_code == 200
    limited = call(client, "GET", "/v1/people", acme_key)
    assert limited.status_code == 429
    assert limited.json() == {"status": 429, "message": "Too Many Requests"}
    assert limited["Retry-After"].isdigit() and 1 <= int(limited["Retry-After"]) <= 60
    assert call(client, "GET", "/v1/people", other).status_code == 200


def test_never_a_204_and_always_a_json_body(client, acme, acme_key):
    with account_scope(acme):
        PersonFactory(account=acme, email="d@x.com")
    for method, path in (("DELETE", "/v1/people/d%40x.com/survey_requests/pending"),
                         ("DELETE", "/v1/people/email%3Ad%40x.com"), ("POST", "/v1/unsubscribes")):
        response = call(client, method, path, acme_key, data={"person_email": "d@x.com"})
        assert response.status_code in (200, 202) and response.json() == {"ok": True}


def test_mallory_key_gets_404_for_acme_ids_and_sees_no_acme_rows(client, acme, globex, globex_key):
    with account_scope(acme):
        person = PersonFactory(account=acme, email="canary@acme.example")
        new_key(acme)
    for method, path in (("GET", f"/v1/people/{person.pk}"), ("DELETE", f"/v1/people/{person.pk}"),
                         ("DELETE", "/v1/people/email%3Acanary%40acme.example"),
                         ("DELETE", "/v1/people/canary%40acme.example/survey_requests/pending")):
        assert call(client, method, path, globex_key, data={}).status_code == 404
    assert b"canary" not in call(client, "GET", "/v1/people?email=canary%40acme.example", globex_key).content
    upsert = call(client, "POST", "/v1/people", globex_key, data={"email": "canary@acme.example", "send": False})
    assert upsert.status_code == 201 and upsert.json()["id"] != str(person.pk)


def test_a_key_bound_to_a_survey_uses_it_as_its_project(client, acme, acme_key):
    from integrations.delighted.services import bind_key_to_survey, survey_for_key

    with account_scope(acme):
        key = acme.api_keys.get()
        default = survey_for_key(key)
        ces = SurveyFactory(account=acme, kind="ces", scale_min=1, scale_max=7)
        bind_key_to_survey(api_key=key, survey=ces)
        ResponseFactory(account=acme, survey=default, score=9)
    person = call(client, "POST", "/v1/people", acme_key, data={"email": "c@x.com"}).json()
    with account_scope(acme):
        assert Invitation.objects.get().survey == ces
    created = call(client, "POST", "/v1/survey_responses", acme_key, data={"person": person["id"], "score": 6})
    assert created.status_code == 201 and created.json()["survey_type"] == "ces7"
    assert call(client, "POST", "/v1/survey_responses", acme_key,
                data={"person": person["id"], "score": 0}).status_code == 422
    assert [r["score"] for r in call(client, "GET", "/v1/survey_responses", acme_key).json()] == [6]
    metrics = call(client, "GET", "/v1/metrics", acme_key).json()
    assert metrics["response_count"] == 1 and metrics["agree_count"] == 1 and metrics["ces"] == 100


def test_an_oversize_body_is_413_json_on_both_apis(client, acme, acme_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"email": "big@x.com", "properties": {"blob": "x" * 2000}}
    response = call(client, "POST", "/v1/people", acme_key, data=body)
    assert response.status_code == 413 and response.json()["status"] == 413
    rest = client.post("/api/v1/people", json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {acme_key}")
    assert rest.status_code == 413 and rest.json()["status"] == 413
    with account_scope(acme):
        assert not Person.objects.exists()


def test_expand_notes_returns_the_response_notes_with_author_email(client, acme, acme_key, alice):
    from tests.factories import ResponseNoteFactory

    with account_scope(acme):
        from integrations.delighted.services import survey_for_key

        survey = survey_for_key(acme.api_keys.get())
        response = ResponseFactory(account=acme, survey=survey, person=PersonFactory(account=acme), score=3)
        note = ResponseNoteFactory(account=acme, response=response, author=alice, body="Called back, refund sent")
    plain = call(client, "GET", f"/v1/survey_responses/{response.pk}", acme_key).json()
    assert plain["notes"] == []  # notes only when expanded, as Delighted does
    expanded = call(client, "GET", "/v1/survey_responses?expand[]=notes", acme_key).json()
    assert expanded[0]["notes"] == [{"id": str(note.pk), "text": "Called back, refund sent",
                                     "user_email": "alice@acme.example",
                                     "created_at": int(note.created_at.timestamp())}]
