"""ESP tracking webhooks (anymail): real POSTs of Postmark-shaped payloads, and the signal."""
from __future__ import annotations

import base64
import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking

from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Suppression
from tests.factories import InvitationFactory, PersonFactory, SurveyFactory

pytestmark = pytest.mark.django_db
URL = "/integrations/anymail/postmark/tracking/"


@pytest.fixture
def webhook(settings, client):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["old:secret", "new:secret"]}

    def post(payload, credentials="new:secret"):
        headers = {}
        if credentials:
            headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)

    return post


@pytest.fixture
def sent(acme):
    with account_scope(acme):
        return InvitationFactory(account=acme, person=PersonFactory(account=acme, email="ann@example.com"),
                                 status=Invitation.Status.SENT, esp_message_id="pm-0001")


def bounce(invitation=None, message_id="pm-0001", kind="HardBounce", email="ann@example.com"):
    payload = {"RecordType": "Bounce", "Type": kind, "TypeCode": 1, "ID": 42, "MessageID": message_id,
               "Email": email, "BouncedAt": "2026-11-23T10:00:00Z", "Description": "The address does not exist",
               "Details": "smtp;550 5.1.1 unknown user", "Metadata": {}}
    if invitation is not None:
        payload["Metadata"] = {"account_id": str(invitation.account_id), "invitation_id": str(invitation.pk)}
    return payload


def suppressions(account):
    with cross_account():
        return list(Suppression.objects.filter(account=account).values_list("email", "reason"))


def test_a_hard_bounce_suppresses_the_address_for_every_account(webhook, sent, acme, globex):
    assert webhook(bounce(sent)).status_code == 200
    assert suppressions(acme) == [("ann@example.com", "bounced")]
    with cross_account():
        invitation = Invitation.objects.get(pk=sent.pk)
        assert invitation.status == Invitation.Status.FAILED and invitation.failure_reason.startswith("bounced")
        assert acme.events.filter(kind="invitation.bounced").count() == 1
    with account_scope(globex):
        assert services.is_suppressed(account=globex, email="ann@example.com")


def test_the_same_bounce_twice_is_harmless(webhook, sent, acme):
    webhook(bounce(sent))
    assert webhook(bounce(sent)).status_code == 200
    assert suppressions(acme) == [("ann@example.com", "bounced")]
    with cross_account():
        assert acme.events.filter(kind="invitation.bounced").count() == 1


def test_an_event_without_metadata_is_routed_by_message_id(webhook, sent, acme):
    assert webhook(bounce(None, message_id="pm-0001")).status_code == 200
    assert suppressions(acme) == [("ann@example.com", "bounced")]


def test_an_unmatched_event_answers_200_and_writes_nothing(webhook, sent, acme):
    assert webhook(bounce(None, message_id="pm-unknown")).status_code == 200
    assert suppressions(acme) == []


def test_a_soft_bounce_suppresses_nothing(webhook, sent, acme):
    assert webhook(bounce(sent, kind="SoftBounce")).status_code == 200
    assert suppressions(acme) == []


def test_a_webhook_without_or_with_wrong_credentials_is_refused(webhook, sent, acme):
    assert webhook(bounce(sent), credentials=None).status_code == 400
    assert webhook(bounce(sent), credentials="new:wrong").status_code == 400
    assert suppressions(acme) == []
    assert webhook(bounce(sent), credentials="old:secret").status_code == 200  # rotation: both accepted


def test_a_complaint_suppresses_only_in_the_account_that_sent(webhook, sent, acme, globex):
    with account_scope(globex):
        other = InvitationFactory(account=globex, person=PersonFactory(account=globex, email="ann@example.com"))
    payload = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512, "ID": 43,
               "MessageID": "pm-0001", "Email": "ann@example.com", "BouncedAt": "2026-11-23T10:00:00Z",
               "Metadata": {"account_id": str(acme.pk), "invitation_id": str(sent.pk)}}
    assert webhook(payload).status_code == 200
    assert suppressions(acme) == [("ann@example.com", "complained")]
    assert suppressions(globex) == []
    with cross_account():
        assert Invitation.objects.get(pk=other.pk).status == Invitation.Status.SCHEDULED


def test_mallory_cannot_route_an_event_to_acme_with_globex_metadata(webhook, sent, acme, globex, mallory):
    """Metadata naming globex's account with acme's invitation id matches nothing (ids are checked together)."""
    payload = bounce(sent)
    payload["Metadata"] = {"account_id": str(globex.pk), "invitation_id": str(sent.pk)}
    payload["MessageID"] = "pm-not-ours"
    assert webhook(payload).status_code == 200
    assert suppressions(acme) == [] and suppressions(globex) == []


@pytest.mark.parametrize(("event_type", "reason", "expected"), [
    ("bounced", "bounced", "bounced"), ("bounced", "invalid", "bounced"), ("rejected", "bounced", "bounced"),
    ("complained", None, "complained"), ("rejected", "spam", "complained"),
    ("unsubscribed", None, "unsubscribed"), ("delivered", None, "delivered"), ("opened", None, "opened"),
    ("deferred", "timed_out", "ignored"),
])
def test_each_event_kind_has_its_effect(sent, acme, event_type, reason, expected):
    event = AnymailTrackingEvent(event_type=event_type, reject_reason=reason, message_id="pm-0001",
                                 recipient="ann@example.com",
                                 metadata={"account_id": str(acme.pk), "invitation_id": str(sent.pk)})
    tracking.send(sender=object(), event=event, esp_name="TestESP")
    assert services.handle_tracking_event(event=event, esp_name="TestESP") == expected
    with cross_account():
        invitation = Invitation.objects.get(pk=sent.pk)
    if expected in ("bounced", "complained", "unsubscribed"):
        assert [r for _e, r in suppressions(acme)] == [expected]
    if expected == "delivered":
        assert invitation.delivered_at is not None
    if expected == "opened":
        assert invitation.opened_at is not None


def test_a_survey_of_another_account_is_not_touched_by_an_unsubscribe(sent, acme, globex):
    with account_scope(globex):
        SurveyFactory(account=globex)
    event = AnymailTrackingEvent(event_type="unsubscribed", message_id="pm-0001", recipient="ann@example.com")
    services.handle_tracking_event(event=event, esp_name="TestESP")
    assert suppressions(globex) == []
