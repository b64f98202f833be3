"""Signed webhooks: Standard Webhooks signatures verified by the independent package, retries, rotation, disabling."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug import Response as WerkzeugResponse

from accounts.events import emit_event
from accounts.scoping import account_scope
from integrations import services
from integrations.models import Delivery, WebhookEndpoint
from tests.factories import DeliveryFactory, PersonFactory, WebhookEndpointFactory
from tests.integrations.conftest import RESPONSE_EVENTS, deliveries, verify


@pytest.fixture
def endpoint(acme, httpserver):
    with account_scope(acme):
        return services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/hook"),
                                                    events=RESPONSE_EVENTS)


def test_a_response_arrives_signed_and_verifies_with_the_standardwebhooks_package(endpoint, survey, record,
                                                                                   httpserver):
    received = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: received.append(verify(endpoint.secret, request)) or WerkzeugResponse("ok"))
    with account_scope(survey.account):
        person = PersonFactory(account=survey.account, properties={"plan": {"tier": "pro", "seats": [1, 2]}})
    response = record(survey, 3, comment="Trop lent 😡 — שלום <b>", person=person, properties={"city": "Zürich"})

    assert len(received) == 1
    body = received[0]
    assert body["type"] == "response.created"
    assert body["account"] == "acme"
    assert body["data"]["id"] == response.pk
    assert body["data"]["comment"] == "Trop lent 😡 — שלום <b>"
    assert body["data"]["group"] == "detractor"
    assert body["data"]["person"]["properties"]["plan"] == {"tier": "pro", "seats": [1, 2]}
    assert body["data"]["url"].endswith(f"/app/acme/responses/{response.pk}/")
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"] == "Verbatim-Webhooks/1.0"
    assert request.headers["webhook-id"].startswith("evt_")
    assert request.headers["webhook-sequence"] == str(body["sequence"]) == "1"  # the endpoint's first


def test_a_tampered_body_or_a_stale_timestamp_fails_verification(endpoint, survey, record, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    record(survey, 9)
    request = httpserver.log[0][0]
    headers = dict(request.headers)
    body = request.get_data()
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b'"score":9', b'"score":10'), headers)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)), pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body, headers)
    Webhook(endpoint.secret).verify(body, headers)  # untouched and fresh: fine


def test_a_failed_delivery_is_retried_with_the_same_id_until_the_receiver_recovers(endpoint, survey, record,
                                                                                    run_sweeper, httpserver):
    seen = []

    def handler(request):
        seen.append((request.headers["webhook-id"], request.headers["webhook-timestamp"]))
        verify(endpoint.secret, request)
        return WerkzeugResponse("down", status=500) if len(seen) < 3 else WerkzeugResponse("ok")

    httpserver.expect_request("/hook").respond_with_handler(handler)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        record(survey, 8)
    [delivery] = deliveries(endpoint.account)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    # first retry: 5 s after the first attempt, with ±10 % jitter (D6)
    assert start + timedelta(seconds=4.5) <= delivery.next_attempt_at <= start + timedelta(seconds=5.5)

    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        run_sweeper()  # not due yet
    assert len(seen) == 1
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        run_sweeper()
    [delivery] = deliveries(endpoint.account)
    assert len(seen) == 2
    assert delivery.next_attempt_at >= start + timedelta(seconds=6 + 270)  # then about 5 minutes
    with time_machine.travel(start + timedelta(seconds=6 + 331), tick=False):
        run_sweeper()
    with time_machine.travel(start + timedelta(hours=10), tick=False):
        run_sweeper()  # nothing left to do

    [delivery] = deliveries(endpoint.account)
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert len(seen) == 3
    assert len({message_id for message_id, _ in seen}) == 1
    assert len({timestamp for _, timestamp in seen}) == 3
    with account_scope(endpoint.account):
        assert list(delivery.attempt_log.order_by("number").values_list("status_code", flat=True)) == [500, 500, 200]
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).failures == 0


def test_after_rotation_both_secrets_verify_until_the_grace_period_ends(endpoint, survey, record, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    old_secret = endpoint.secret
    with account_scope(endpoint.account):
        services.rotate_webhook_secret(endpoint=endpoint)
    record(survey, 10)
    request = httpserver.log[-1][0]
    verify(old_secret, request)
    verify(endpoint.secret, request)

    with account_scope(endpoint.account):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    record(survey, 10)
    request = httpserver.log[-1][0]
    verify(endpoint.secret, request)
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, request)


def test_an_endpoint_failing_for_long_is_disabled_and_admins_get_one_email(endpoint, survey, record, run_sweeper,
                                                                          httpserver, alice, smtp_sink, settings):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3600
    settings.WEBHOOK_DISABLE_MIN_FAILURES = 3
    httpserver.expect_request("/hook").respond_with_data("nope", status=503)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        record(survey, 2)
    for minutes in (10, 40, 200, 500):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            run_sweeper()
    with account_scope(endpoint.account):
        endpoint.refresh_from_db()
        attempts_when_disabled = Delivery.objects.get().attempts
    assert not endpoint.is_active and endpoint.disabled_at is not None
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "alice@acme.example"
    assert "disabled" in mail["Subject"]

    with time_machine.travel(start + timedelta(days=2), tick=False):
        record(survey, 2)  # no new delivery for a disabled endpoint
        run_sweeper()
    with account_scope(endpoint.account):
        assert Delivery.objects.count() == 1
        assert Delivery.objects.get().attempts == attempts_when_disabled
    assert len(smtp_sink.messages) == 1


def test_410_gone_disables_the_endpoint_without_retrying(endpoint, survey, record, run_sweeper, httpserver):
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    record(survey, 7)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        run_sweeper()
    [delivery] = deliveries(endpoint.account)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    with account_scope(endpoint.account):
        assert not WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    assert len(httpserver.log) == 1


def test_a_redirect_is_not_followed_and_counts_as_failure(endpoint, survey, record, httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=302,
                                                         headers={"Location": httpserver.url_for("/elsewhere")})
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    record(survey, 7)
    [delivery] = deliveries(endpoint.account)
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 302
    assert [entry[0].path for entry in httpserver.log] == ["/hook"]


def test_endpoints_receive_only_their_chosen_events_and_filters(acme, survey, record, httpserver,
                                                               django_capture_on_commit_callbacks):
    with account_scope(acme):
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/updates"),
                                         events=["response.updated"])
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/detractors"),
                                         filters={"score_groups": ["detractor"]}, events=RESPONSE_EVENTS)
    httpserver.expect_request("/updates").respond_with_data("ok")
    httpserver.expect_request("/detractors").respond_with_data("ok")
    promoter = record(survey, 9)
    record(survey, 4)
    assert [entry[0].path for entry in httpserver.log] == ["/detractors"]
    with account_scope(acme), django_capture_on_commit_callbacks(execute=True):
        emit_event(acme, "response.updated", {"response_id": promoter.pk})
    assert [entry[0].path for entry in httpserver.log] == ["/detractors", "/updates"]
    assert json.loads(httpserver.log[1][0].get_data())["data"]["id"] == promoter.pk


def test_delighted_format_endpoints_get_delighted_bodies_and_signature(acme, survey, record, httpserver):
    with account_scope(acme):
        endpoint = services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/delighted"),
                                                    format="delighted")
    httpserver.expect_request("/delighted").respond_with_data("ok")
    response = record(survey, 9, comment="Fast & flawless", name="Charlie Gravis", email="charlie@example.com")
    request = httpserver.log[0][0]
    raw = request.get_data()
    expected = hmac.new(endpoint.secret.encode(), raw, hashlib.sha256).hexdigest()
    assert request.headers["X-Delighted-Webhook-Signature"] == f"sha256={expected}"
    body = json.loads(raw)
    assert body["event_type"] == "survey_response.created"
    assert len(body["event_id"]) == 64
    data = body["event_data"]
    assert data["id"] == str(response.pk) and data["score"] == 9 and data["survey_type"] == "nps"
    assert data["person"] == {"id": str(response.person_id), "email": "charlie@example.com",
                              "name": "Charlie Gravis", "created_at": int(response.person.created_at.timestamp())}
    assert data["comment"] == "Fast & flawless" and data["notes"] == [] and data["person_properties"] is None


def test_the_test_send_button_posts_a_verifiable_ping_shown_in_the_log(client, alice, endpoint, httpserver,
                                                                      django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook").respond_with_data("pong")
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:webhookendpoint-test", kwargs={"account": "acme", "pk": endpoint.pk}))
    page = client.get(reverse("integrations:delivery-list", kwargs={"account": "acme"}))
    assert verify(endpoint.secret, httpserver.log[0][0])["type"] == "ping"
    assert b"ping" in page.content and b"pong" in page.content
    [delivery] = deliveries(endpoint.account)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.last_status_code == 200


def test_resend_sends_the_same_webhook_id_again(client, alice, endpoint, survey, record, httpserver,
                                                django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook").respond_with_data("ok")
    record(survey, 6)
    [delivery] = deliveries(endpoint.account)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:delivery-resend", kwargs={"account": "acme", "pk": delivery.pk}))
    assert len(httpserver.log) == 2
    assert httpserver.log[0][0].headers["webhook-id"] == httpserver.log[1][0].headers["webhook-id"]
    verify(endpoint.secret, httpserver.log[1][0])


def test_the_delivery_log_never_contains_the_secret(endpoint, survey, record, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    record(survey, 6)
    with account_scope(endpoint.account):
        rows = list(Delivery.objects.values()) + list(endpoint.deliveries.first().attempt_log.values())
    assert endpoint.secret not in json.dumps(rows, default=str)
    assert endpoint.secret.removeprefix("whsec_") not in json.dumps(rows, default=str)


def test_an_admin_adds_an_endpoint_and_sees_its_secret(client, alice, httpserver):
    client.force_login(alice)
    page = client.post(reverse("integrations:webhookendpoint-create", kwargs={"account": "acme"}),
                       {"url": httpserver.url_for("/new"), "format": "standard", "events": ["response.created"]},
                       follow=True)
    endpoint = page.context["endpoint"]
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret.encode() in page.content
    assert endpoint.events == ["response.created"]


def test_a_bad_url_is_refused_with_a_form_error(client, alice):
    client.force_login(alice)
    page = client.post(reverse("integrations:webhookendpoint-create", kwargs={"account": "acme"}),
                       {"url": "https://user:pw@example.com/hook", "format": "standard"})
    assert page.status_code == 400
    assert "url" in page.context["form"].errors


def test_a_viewer_cannot_add_an_endpoint(client, bob):
    client.force_login(bob)
    response = client.post(reverse("integrations:webhookendpoint-create", kwargs={"account": "acme"}),
                           {"url": "https://example.com/hook", "format": "standard"})
    assert response.status_code in (403, 405)


def test_mallory_cannot_see_resend_or_rotate_acme_endpoints(client, mallory, acme):
    with account_scope(acme):
        endpoint = WebhookEndpointFactory(account=acme)
        delivery = DeliveryFactory(account=acme, endpoint=endpoint)
    client.force_login(mallory)
    for name, pk in (("webhookendpoint-detail", endpoint.pk), ("webhookendpoint-rotate", endpoint.pk),
                     ("delivery-resend", delivery.pk), ("delivery-detail", delivery.pk)):
        for slug in ("acme", "globex"):
            url = reverse(f"integrations:{name}", kwargs={"account": slug, "pk": pk})
            assert client.post(url).status_code in (404, 405)
            assert client.get(url).status_code in (404, 405)
    with account_scope(acme):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
