"""REST API of webhooks, Zapier subscriptions, response notes and tags, and follow-up cases (/api/v1/)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope
from integrations.models import WebhookEndpoint, ZapierSubscription
from responses.models import Case, CaseEvent, ResponseNote
from tests.api.conftest import new_key
from tests.factories import (
    CaseFactory,
    PersonFactory,
    ResponseFactory,
    SurveyFactory,
    WebhookEndpointFactory,
    ZapierSubscriptionFactory,
)

pytestmark = pytest.mark.django_db
JSON = "application/json"


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def acme_response(acme):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        return ResponseFactory(account=acme, survey=survey, person=PersonFactory(account=acme), score=3)


def test_the_schema_documents_every_new_operation_with_an_example(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    documented = 0
    for path, operations in paths.items():
        if not any(part in path for part in ("/webhooks", "/zapier_subscriptions", "/cases", "/notes", "/tags")):
            continue
        for method, operation in operations.items():
            documented += 1
            if method != "delete":  # a 204 has no body to show
                assert "examples" in str(operation), f"{method.upper()} {path} has no example"
    assert documented == 15


# --- webhooks -------------------------------------------------------------------------------------

def test_a_new_webhook_shows_its_secret_once_and_never_again(client, acme, acme_key):
    created = client.post("/api/v1/webhooks", {"url": "https://hooks.example.com/crm", "description": "CRM",
                                               "events": ["response.created"],
                                               "filters": {"score_groups": ["detractor"], "has_comment": True}},
                          content_type=JSON, **auth(acme_key))
    assert created.status_code == 201, created.content
    body = created.json()
    with account_scope(acme):
        endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert endpoint.events == ["response.created"]
    assert endpoint.filters == {"score_groups": ["detractor"], "has_comment": True}
    listed = client.get("/api/v1/webhooks", **auth(acme_key)).json()["results"]
    assert [e["url"] for e in listed] == ["https://hooks.example.com/crm"] and "secret" not in listed[0]
    detail = client.get(f"/api/v1/webhooks/{endpoint.pk}", **auth(acme_key))
    assert detail.json()["description"] == "CRM" and "secret" not in detail.json()
    assert endpoint.secret not in detail.content.decode()


def test_deleting_a_webhook_removes_it(client, acme, acme_key):
    with account_scope(acme):
        endpoint = WebhookEndpointFactory(account=acme)
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", **auth(acme_key)).status_code == 204
    with account_scope(acme):
        assert not WebhookEndpoint.objects.exists()
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", **auth(acme_key)).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://hooks.example.com/x"}, "url"),  # https only
    ({"url": "https://10.1.2.3/hook"}, "url"),  # private address (SSRF)
    ({"url": "https://169.254.169.254/latest/meta-data"}, "url"),  # cloud metadata
    ({"url": "https://user:pw@hooks.example.com/"}, "url"),
    ({"url": "https://127.0.0.1:8000/"}, "url"),
    ({"url": 42}, "url"),
    ({"url": "https://[::1/"}, "url"),
    ({"url": "https://hooks.example.com:99999/"}, "url"),
    ({"url": "https://hooks.example.com/", "events": ["response.deleted"]}, "events"),
    ({"url": "https://hooks.example.com/", "format": "xml"}, "format"),
    ({"url": "https://hooks.example.com/", "filters": {"score_groups": ["fans"]}}, "filters"),
    ({"url": "https://hooks.example.com/", "filters": {"survey_ids": [999999]}}, "survey_ids"),
    ({"url": "https://hooks.example.com/", "filters": {"has_comment": 1}}, "filters"),
    ({"url": "https://hooks.example.com/", "filters": {"score_group": ["detractor"]}}, "filters"),
    ({"url": "https://hooks.example.com/", "secret": "whsec_mine"}, "secret"),
    ({"url": "https://hooks.example.com/", "colour": "red"}, "colour"),
])
def test_a_bad_webhook_is_a_400_naming_the_field_and_nothing_is_saved(client, acme, acme_key, settings, body,
                                                                      field):
    settings.OUTBOUND_ALLOW_LOOPBACK = False  # as in production (tests allow loopback receivers)
    response = client.post("/api/v1/webhooks", body, content_type=JSON, **auth(acme_key))
    assert response.status_code == 400, response.content
    assert response.json()["status"] == 400 and field in response.json()["errors"]
    with account_scope(acme):
        assert not WebhookEndpoint.objects.exists()


def test_a_webhook_filter_cannot_name_another_accounts_survey(client, acme, acme_key, globex):
    with account_scope(globex):
        theirs = SurveyFactory(account=globex)
    response = client.post("/api/v1/webhooks", {"url": "https://hooks.example.com/",
                                                "filters": {"survey_ids": [theirs.pk]}},
                           content_type=JSON, **auth(acme_key))
    assert response.status_code == 400 and "survey_ids" in response.json()["errors"]


def test_a_member_session_reads_webhooks_but_only_an_admin_adds_one(client, acme, alice, carol):
    client.force_login(carol)
    assert client.get("/api/v1/webhooks", HTTP_X_ACCOUNT="acme").status_code == 200
    denied = client.post("/api/v1/webhooks", {"url": "https://hooks.example.com/"}, content_type=JSON,
                         HTTP_X_ACCOUNT="acme")
    assert denied.status_code == 403
    client.force_login(alice)
    assert client.post("/api/v1/webhooks", {"url": "https://hooks.example.com/"}, content_type=JSON,
                       HTTP_X_ACCOUNT="acme").status_code == 201


# --- Zapier subscriptions -------------------------------------------------------------------------

def test_zapier_subscriptions_are_listed_and_removed(client, acme, acme_key):
    with account_scope(acme):
        zap = ZapierSubscriptionFactory(account=acme)
    listed = client.get("/api/v1/zapier_subscriptions", **auth(acme_key)).json()["results"]
    assert [(z["id"], z["event"]) for z in listed] == [(zap.pk, "response.created")]
    assert client.post("/api/v1/zapier_subscriptions", {"target_url": "https://x.example/"}, content_type=JSON,
                       **auth(acme_key)).status_code == 405
    assert client.delete(f"/api/v1/zapier_subscriptions/{zap.pk}", **auth(acme_key)).status_code == 204
    with account_scope(acme):
        assert not ZapierSubscription.objects.exists()


# --- notes and tags -------------------------------------------------------------------------------

def test_notes_on_a_response_are_added_and_listed_oldest_first(client, acme, acme_key, acme_response):
    url = f"/api/v1/responses/{acme_response.pk}/notes"
    for text in ("Called, no answer", "  Called back, fixed  "):
        created = client.post(url, {"body": text}, content_type=JSON, **auth(acme_key))
        assert created.status_code == 201, created.content
    notes = client.get(url, **auth(acme_key)).json()
    assert [n["body"] for n in notes] == ["Called, no answer", "Called back, fixed"]
    assert notes[0]["author_email"] is None and notes[0]["response"] == acme_response.pk


def test_a_note_posted_twice_with_one_idempotency_key_is_added_once(client, acme, acme_key, acme_response):
    url = f"/api/v1/responses/{acme_response.pk}/notes"
    first = client.post(url, {"body": "Once"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="note-1", **auth(acme_key))
    again = client.post(url, {"body": "Once"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="note-1", **auth(acme_key))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(url, {"body": "Other"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="note-1", **auth(acme_key))
    assert other.status_code == 400 and "Idempotency-Key" in other.json()["errors"]
    with account_scope(acme):
        assert list(ResponseNote.objects.values_list("body", flat=True)) == ["Once"]


def test_a_session_note_names_its_author(client, acme, carol, acme_response):
    client.force_login(carol)
    created = client.post(f"/api/v1/responses/{acme_response.pk}/notes", {"body": "Mine"}, content_type=JSON,
                          HTTP_X_ACCOUNT="acme")
    assert created.status_code == 201 and created.json()["author_email"] == "carol@acme.example"


@pytest.mark.parametrize(("body", "field"), [
    ({"body": "   "}, "body"), ({"body": "x" * 5001}, "body"), ({"body": 7}, "body"), ({}, "body"),
    ({"body": "ok", "kind": "email"}, "kind"),
])
def test_a_bad_note_is_a_400_naming_the_field(client, acme, acme_key, acme_response, body, field):
    response = client.post(f"/api/v1/responses/{acme_response.pk}/notes", body, content_type=JSON,
                           **auth(acme_key))
    assert response.status_code == 400 and field in response.json()["errors"]
    with account_scope(acme):
        assert not ResponseNote.objects.exists()


def test_tags_are_replaced_by_the_list_sent(client, acme, acme_key, acme_response):
    url = f"/api/v1/responses/{acme_response.pk}/tags"
    answer = client.put(url, {"tags": ["Billing", "vip", "billing"]}, content_type=JSON, **auth(acme_key))
    assert answer.status_code == 200 and answer.json()["tags"] == ["billing", "vip"]
    assert client.get("/api/v1/responses?tag=vip", **auth(acme_key)).json()["results"][0]["id"] == acme_response.pk
    assert client.put(url, {"tags": []}, content_type=JSON, **auth(acme_key)).json()["tags"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"tags": "billing"}, "tags"), ({"tags": [f"t{i}" for i in range(21)]}, "tags"), ({"tags": ["x" * 41]}, "tags"),
    ({"tags": [3]}, "tags"), ({}, "tags"), ({"tags": [], "score": 10}, "score"),
])
def test_bad_tags_are_a_400_naming_the_field_and_change_nothing(client, acme, acme_key, acme_response, body, field):
    with account_scope(acme):
        acme_response.tags = ["kept"]
        acme_response.save(update_fields=["tags"])
    answer = client.put(f"/api/v1/responses/{acme_response.pk}/tags", body, content_type=JSON, **auth(acme_key))
    assert answer.status_code == 400 and field in answer.json()["errors"]
    acme_response.refresh_from_db()
    assert acme_response.tags == ["kept"] and acme_response.score == 3


# --- cases ----------------------------------------------------------------------------------------

@pytest.fixture
def acme_cases(acme, carol):
    now = timezone.now()
    with account_scope(acme):
        late = CaseFactory(account=acme, assignee=carol, due_at=now - timedelta(hours=2))
        mine_on_time = CaseFactory(account=acme, assignee=carol, due_at=now + timedelta(hours=2))
        unassigned_done = CaseFactory(account=acme, status=Case.Status.RESOLVED, due_at=now - timedelta(days=1))
    return late, mine_on_time, unassigned_done


def test_cases_are_listed_with_status_assignee_and_overdue_filters(client, acme, acme_key, carol, acme_cases):
    late, on_time, done = acme_cases

    def ids(query: str) -> set[int]:
        answer = client.get(f"/api/v1/cases{query}", **auth(acme_key))
        assert answer.status_code == 200, answer.content
        return {c["id"] for c in answer.json()["results"]}

    assert ids("") == {late.pk, on_time.pk, done.pk}
    assert ids("?status=open") == {late.pk, on_time.pk}
    assert ids(f"?assignee={carol.pk}") == {late.pk, on_time.pk}
    assert ids("?assignee=none") == {done.pk}
    assert ids("?overdue=true") == {late.pk}
    assert ids("?overdue=false") == {on_time.pk, done.pk}
    detail = client.get(f"/api/v1/cases/{late.pk}", **auth(acme_key)).json()
    assert detail["overdue"] is True and detail["assignee"] == carol.pk and detail["response"] == late.response_id


@pytest.mark.parametrize(("query", "field"), [("?status=closed", "status"), ("?assignee=carol", "assignee"),
                                              ("?overdue=yes", "overdue"), ("?overdue=", "overdue"),
                                              ("?status=", "status"), ("?per_page=500", "per_page")])
def test_a_bad_case_filter_is_a_400_naming_it(client, acme, acme_key, query, field):
    answer = client.get(f"/api/v1/cases{query}", **auth(acme_key))
    assert answer.status_code == 400 and field in answer.json()["errors"]


def test_a_case_is_marked_contacted_and_noted_and_its_history_records_both(client, acme, acme_key, acme_cases):
    case = acme_cases[0]
    answer = client.post(f"/api/v1/cases/{case.pk}/status", {"status": "contacted", "channel": "phone"},
                         content_type=JSON, **auth(acme_key))
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "contacted" and answer.json()["contact_channel"] == "phone"
    assert answer.json()["contacted_at"] and answer.json()["overdue"] is False
    note = client.post(f"/api/v1/cases/{case.pk}/notes", {"body": "Spoke to them"}, content_type=JSON,
                       **auth(acme_key))
    assert note.status_code == 201 and note.json()["case"] == case.pk
    assert [n["body"] for n in client.get(f"/api/v1/responses/{case.response_id}/notes",
                                          **auth(acme_key)).json()] == ["Spoke to them"]
    with account_scope(acme):
        assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == ["status", "note"]


@pytest.mark.parametrize(("body", "field"), [({"status": "closed"}, "status"), ({}, "status"),
                                             ({"status": "resolved", "channel": "fax"}, "channel"),
                                             ({"status": "resolved", "assignee": 1}, "assignee")])
def test_a_bad_case_status_is_a_400_naming_the_field(client, acme, acme_key, acme_cases, body, field):
    case = acme_cases[0]
    answer = client.post(f"/api/v1/cases/{case.pk}/status", body, content_type=JSON, **auth(acme_key))
    assert answer.status_code == 400 and field in answer.json()["errors"]
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


# --- who may write --------------------------------------------------------------------------------

def test_a_read_only_key_reads_everything_but_writes_nothing(client, acme, acme_response, acme_cases):
    read_key = new_key(acme, scope="read")
    case = acme_cases[0]
    with account_scope(acme):
        endpoint = WebhookEndpointFactory(account=acme)
        zap = ZapierSubscriptionFactory(account=acme)
    for url in ("/api/v1/webhooks", f"/api/v1/webhooks/{endpoint.pk}", "/api/v1/zapier_subscriptions",
                f"/api/v1/responses/{acme_response.pk}/notes", "/api/v1/cases", f"/api/v1/cases/{case.pk}",
                f"/api/v1/cases/{case.pk}/notes"):
        assert client.get(url, **auth(read_key)).status_code == 200, url
    writes = [("post", "/api/v1/webhooks", {"url": "https://hooks.example.com/"}),
              ("delete", f"/api/v1/webhooks/{endpoint.pk}", None),
              ("delete", f"/api/v1/zapier_subscriptions/{zap.pk}", None),
              ("post", f"/api/v1/responses/{acme_response.pk}/notes", {"body": "no"}),
              ("put", f"/api/v1/responses/{acme_response.pk}/tags", {"tags": ["no"]}),
              ("post", f"/api/v1/cases/{case.pk}/status", {"status": "resolved"}),
              ("post", f"/api/v1/cases/{case.pk}/notes", {"body": "no"})]
    for method, url, body in writes:
        answer = getattr(client, method)(url, body, content_type=JSON, **auth(read_key))
        assert answer.status_code == 403 and answer.json()["required_scope"] == "write", url
    with account_scope(acme):
        assert WebhookEndpoint.objects.count() == 1 and ZapierSubscription.objects.count() == 1
        assert not ResponseNote.objects.exists()
    case.refresh_from_db()
    acme_response.refresh_from_db()
    assert case.status == Case.Status.OPEN and acme_response.tags == []


def test_a_viewer_session_reads_cases_but_cannot_note_or_close_them(client, acme, bob, acme_cases):
    client.force_login(bob)
    case = acme_cases[0]
    assert client.get("/api/v1/cases", HTTP_X_ACCOUNT="acme").status_code == 200
    assert client.post(f"/api/v1/cases/{case.pk}/status", {"status": "resolved"}, content_type=JSON,
                       HTTP_X_ACCOUNT="acme").status_code == 403
    assert client.post(f"/api/v1/cases/{case.pk}/notes", {"body": "x"}, content_type=JSON,
                       HTTP_X_ACCOUNT="acme").status_code == 403
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_mallory_cannot_see_or_touch_acmes_webhooks_notes_tags_or_cases(client, acme, mallory, globex,
                                                                        acme_response, acme_cases):
    case = acme_cases[0]
    with account_scope(acme):
        endpoint = WebhookEndpointFactory(account=acme)
        zap = ZapierSubscriptionFactory(account=acme)
    client.force_login(mallory)
    assert client.get("/api/v1/cases", HTTP_X_ACCOUNT="acme").status_code == 404  # not her account
    globex_key = new_key(globex)
    for headers in ({"HTTP_X_ACCOUNT": "globex"}, auth(globex_key)):
        assert client.get("/api/v1/cases", **headers).json()["results"] == []
        assert client.get("/api/v1/webhooks", **headers).json()["results"] == []
        assert client.get("/api/v1/zapier_subscriptions", **headers).json()["results"] == []
        for method, url, body in [
                ("get", f"/api/v1/webhooks/{endpoint.pk}", None), ("delete", f"/api/v1/webhooks/{endpoint.pk}", None),
                ("delete", f"/api/v1/zapier_subscriptions/{zap.pk}", None),
                ("get", f"/api/v1/responses/{acme_response.pk}/notes", None),
                ("post", f"/api/v1/responses/{acme_response.pk}/notes", {"body": "hi"}),
                ("put", f"/api/v1/responses/{acme_response.pk}/tags", {"tags": ["pwned"]}),
                ("get", f"/api/v1/cases/{case.pk}", None),
                ("post", f"/api/v1/cases/{case.pk}/status", {"status": "wont_fix"}),
                ("post", f"/api/v1/cases/{case.pk}/notes", {"body": "hi"})]:
            answer = getattr(client, method)(url, body, content_type=JSON, **headers)
            assert answer.status_code == 404, (method, url, answer.status_code)
    with account_scope(acme):
        assert WebhookEndpoint.objects.count() == 1 and ZapierSubscription.objects.count() == 1
        assert not ResponseNote.objects.exists()
    case.refresh_from_db()
    acme_response.refresh_from_db()
    assert case.status == Case.Status.OPEN and acme_response.tags == []
