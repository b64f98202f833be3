"""EM-8: the complaint rate pauses an account's sending automatically (real webhook POSTs, real worker)."""
from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Role
from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Person, Suppression
from surveys.services import complaints
from tests.factories import MembershipFactory, PersonFactory, SurveyFactory, UserFactory

URL = "/integrations/anymail/postmark/tracking/"


@pytest.fixture
def webhook(settings, client):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["hook:secret"]}
    settings.OPERATOR_EMAIL = "ops@verbatim.example"

    def post(invitation: Invitation):
        payload = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512, "ID": invitation.pk,
                   "MessageID": invitation.esp_message_id, "Email": invitation.person.email,
                   "BouncedAt": "2026-11-23T10:00:00Z",
                   "Metadata": {"account_id": str(invitation.account_id), "invitation_id": str(invitation.pk)}}
        auth = "Basic " + base64.b64encode(b"hook:secret").decode()
        return client.post(URL, data=json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=auth)

    return post


def seed_sent(account: Account, count: int) -> list[Invitation]:
    """``count`` invitations of ``account`` already sent (one person each), sent an hour ago."""
    sent_at = timezone.now() - timedelta(hours=1)
    with account_scope(account):
        survey = SurveyFactory(account=account)
        people = Person.objects.bulk_create(
            Person(account=account, email=f"p{i}@{account.slug}.example", name=f"P {i}") for i in range(count))
        return Invitation.objects.bulk_create(
            Invitation(account=account, survey=survey, person=p, status=Invitation.Status.SENT, sent_at=sent_at,
                       scheduled_at=sent_at, esp_message_id=f"pm-{account.slug}-{i}")
            for i, p in enumerate(people))


def reload(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


def alerts(sink) -> list:
    return [m for m in sink.messages if str(m["Subject"]).startswith("Sending paused")]


def test_four_complaints_in_a_thousand_sends_pause_the_account_and_its_due_rows(
        celery_worker, webhook, acme, globex, smtp_sink):
    MembershipFactory(account=acme, user=UserFactory(username="owner@acme.example"), role=Role.OWNER)
    invitations = seed_sent(acme, 1000)
    for invitation in invitations[:4]:
        assert webhook(invitation).status_code == 200
    acme = reload(acme)
    assert acme.sending_paused and acme.sending_paused_at is not None
    assert "0.40%" in acme.sending_paused_reason

    with account_scope(acme):
        due_a = services.schedule_invitation(survey=SurveyFactory(account=acme),
                                             person=PersonFactory(account=acme, email="new@acme.example"))
    with account_scope(globex):
        due_b = services.schedule_invitation(survey=SurveyFactory(account=globex),
                                             person=PersonFactory(account=globex, email="new@globex.example"))
    services.dispatch_due()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with cross_account():
            b_status = Invitation.objects.get(pk=due_b.pk).status
        if b_status == Invitation.Status.SENT:
            break
        time.sleep(0.1)
    with cross_account():
        assert Invitation.objects.get(pk=due_a.pk).status == Invitation.Status.SKIPPED_PAUSED
        assert Invitation.objects.get(pk=due_b.pk).status == Invitation.Status.SENT
    smtp_sink.wait_for(2)
    assert not reload(globex).sending_paused
    [alert] = alerts(smtp_sink)
    assert sorted(a.strip() for a in alert["To"].split(",")) == ["ops@verbatim.example", "owner@acme.example"]
    assert "/app/acme/settings/" in alert.get_content()
    assert [m["To"] for m in smtp_sink.messages if m not in alerts(smtp_sink)] == ["new@globex.example"]


@pytest.mark.django_db(transaction=True)
def test_a_repeated_complaint_event_sends_no_second_alert(webhook, acme, smtp_sink):
    MembershipFactory(account=acme, user=UserFactory(username="owner@acme.example"), role=Role.OWNER)
    invitations = seed_sent(acme, 1000)
    for invitation in invitations[:5] + invitations[:5]:
        assert webhook(invitation).status_code == 200
    complaints.evaluate_all_complaint_rates()
    assert reload(acme).sending_paused
    assert len(alerts(smtp_sink)) == 1


@pytest.mark.django_db(transaction=True)
def test_three_complaints_in_a_thousand_is_not_above_the_threshold(webhook, acme, smtp_sink):
    for invitation in seed_sent(acme, 1000)[:3]:
        webhook(invitation)
    acme = reload(acme)
    assert not acme.sending_paused and acme.sending_paused_reason == ""
    assert complaints.complaint_rate(account=acme).percent == "0.30%"
    assert alerts(smtp_sink) == []


@pytest.mark.django_db(transaction=True)
def test_too_few_sends_never_pause_whatever_the_rate(webhook, acme, smtp_sink):
    for invitation in seed_sent(acme, 999)[:50]:
        webhook(invitation)
    assert not reload(acme).sending_paused


def test_the_daily_evaluation_pauses_and_alerts_the_operator(acme, settings, smtp_sink):
    settings.OPERATOR_EMAIL = ""
    settings.ADMINS = [("Ops", "admins@verbatim.example")]
    invitations = seed_sent(acme, 1200)
    with account_scope(acme):
        for invitation in invitations[:4]:
            Suppression.objects.create(account=acme, email=invitation.person.email, reason="complained")
    assert complaints.evaluate_all_complaint_rates() == 1
    assert reload(acme).sending_paused
    [alert] = alerts(smtp_sink)
    assert alert["To"] == "admins@verbatim.example"
    assert complaints.evaluate_all_complaint_rates() == 0
    assert len(alerts(smtp_sink)) == 1


def test_old_complaints_outside_the_window_do_not_count(acme, smtp_sink):
    invitations = seed_sent(acme, 1000)
    with account_scope(acme):
        for invitation in invitations[:10]:
            Suppression.objects.create(account=acme, email=invitation.person.email, reason="complained",
                                       created_at=timezone.now() - timedelta(days=31))
    assert complaints.evaluate_all_complaint_rates() == 0


def test_resuming_restarts_the_window_so_old_complaints_do_not_pause_again(acme, alice, smtp_sink):
    invitations = seed_sent(acme, 1000)
    with account_scope(acme):
        for invitation in invitations[:4]:
            Suppression.objects.create(account=acme, email=invitation.person.email, reason="complained")
    assert complaints.evaluate_all_complaint_rates() == 1
    complaints.resume_sending(account=reload(acme), by=alice)
    acme = reload(acme)
    assert not acme.sending_paused and acme.sending_paused_reason == "" and acme.sending_resumed_at
    assert complaints.evaluate_all_complaint_rates() == 0
    with account_scope(acme):
        assert list(acme.events.filter(kind__startswith="account.sending").values_list("kind", flat=True)
                    .order_by("pk")) == ["account.sending_paused", "account.sending_resumed"]


def test_a_failed_alert_is_sent_by_the_next_daily_run(acme, settings, smtp_sink):
    settings.OPERATOR_EMAIL = "ops@verbatim.example"
    invitations = seed_sent(acme, 1000)
    with account_scope(acme):
        for invitation in invitations[:4]:
            Suppression.objects.create(account=acme, email=invitation.person.email, reason="complained")
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there: the alert fails
    assert complaints.evaluate_all_complaint_rates() == 1
    assert reload(acme).sending_pause_alerted_at is None
    settings.EMAIL_PORT = good_port
    complaints.evaluate_all_complaint_rates()
    assert len(alerts(smtp_sink)) == 1
    assert reload(acme).sending_pause_alerted_at is not None


def paused(account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(
        sending_paused=True, sending_paused_at=timezone.now(), sending_pause_alerted_at=timezone.now(),
        sending_paused_reason="Complaint rate 0.40% (4 complaints / 1000 sent since 2026-10-24) is above 0.30%.")


def test_the_owner_sees_why_sending_is_paused_and_resumes_it(client, acme):
    owner = MembershipFactory(account=acme, user=UserFactory(username="owner@acme.example"), role=Role.OWNER).user
    paused(acme)
    client.force_login(owner)
    page = client.get(reverse("accounts:settings", kwargs={"account": "acme"})).content.decode()
    assert "Sending is paused" in page and "Complaint rate 0.40%" in page and "Resume sending" in page
    resumed = client.post(reverse("surveys:sending-resume", kwargs={"account": "acme"}))
    assert resumed.status_code == 302
    acme = reload(acme)
    assert not acme.sending_paused and acme.sending_resumed_at is not None
    assert "Sending is paused" not in client.get(resumed["Location"]).content.decode()


def test_an_admin_sees_the_pause_but_only_an_owner_resumes(client, acme, alice):
    paused(acme)
    client.force_login(alice)
    page = client.get(reverse("accounts:settings", kwargs={"account": "acme"})).content.decode()
    assert "Complaint rate 0.40%" in page and "Only an owner can resume sending." in page
    assert client.post(reverse("surveys:sending-resume", kwargs={"account": "acme"})).status_code == 403
    assert reload(acme).sending_paused


def test_mallory_cannot_resume_acme(client, acme, globex, mallory):
    paused(acme)
    client.force_login(mallory)
    assert client.post(reverse("surveys:sending-resume", kwargs={"account": "acme"})).status_code == 404
    assert reload(acme).sending_paused
