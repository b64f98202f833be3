"""Sending: the dispatcher, the send step, the throttle, suppressions, leases (PostgreSQL, real SMTP)."""
from __future__ import annotations

import io
import re
import threading
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import hash_secret
from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Suppression
from tests.factories import InvitationFactory, PersonFactory, SuppressionFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def dispatch_once():
    call_command("dispatch", "--once", stdout=io.StringIO())


def status_of(invitation):
    with cross_account():
        return Invitation.objects.get(pk=invitation.pk).status


def test_a_due_invitation_is_emailed_once_with_its_links_and_headers(smtp_sink, settings, survey, person, in_acme):
    settings.SITE_URL = "https://verbatim.example"
    invitation = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    dispatch_once()
    [message] = smtp_sink.wait_for(1)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Quick question from Acme"
    assert "feedback@acme.example" in message["From"]
    assert message["X-Verbatim-Invitation"] == str(invitation.pk)
    assert message["Message-ID"] == f"<inv-{invitation.pk}.1@acme.example>"
    assert invitation.esp_message_id == f"inv-{invitation.pk}.1@acme.example"
    [unsubscribe] = message.get_all("List-Unsubscribe")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = unsubscribe.strip().strip("<>")
    assert unsubscribe_url.startswith("https://verbatim.example/u/") and "@" not in urlparse(unsubscribe_url).path
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert unsubscribe_url in text and unsubscribe_url in html
    links = re.findall(r"https://verbatim\.example/r/([A-Za-z0-9_\-]+)/(\d+)", html)
    assert [int(score) for _token, score in links] == list(range(0, 11))
    token = links[0][0]
    assert len(token) >= 22 and hash_secret(token) == invitation.token_hash  # only the hash is stored
    assert {t for t, _s in re.findall(r"https://verbatim\.example/r/([A-Za-z0-9_\-]+)/(\d+)", text)} == {token}
    assert invitation.token_expires_at > timezone.now() + timedelta(days=89)
    assert "How likely are you to recommend Acme" in html


def test_the_send_task_run_twice_sends_one_email(smtp_sink, survey, person, in_acme):
    invitation = services.schedule_invitation(survey=survey, person=person)
    services.send_invitations(account=survey.account, invitation_ids=[invitation.pk])
    services.send_invitations(account=survey.account, invitation_ids=[invitation.pk])
    assert len(smtp_sink.wait_for(1)) == 1
    assert status_of(invitation) == Invitation.Status.SENT


def test_a_person_surveyed_inside_the_window_is_skipped_and_gets_it_after(smtp_sink, survey, person, in_acme):
    other = SurveyFactory(account=survey.account, name="CES")
    first = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    second = services.schedule_invitation(survey=other, person=person)
    with time_machine.travel(timezone.now() + timedelta(days=29, hours=23)):
        dispatch_once()
    assert status_of(first) == Invitation.Status.SENT
    assert status_of(second) == Invitation.Status.SKIPPED_THROTTLED
    third = services.schedule_invitation(survey=other, person=person)
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        dispatch_once()
    assert status_of(third) == Invitation.Status.SENT
    assert len(smtp_sink.messages) == 2


def test_two_invitations_due_together_for_one_person_send_one(smtp_sink, survey, person, in_acme):
    other = SurveyFactory(account=survey.account, name="CES")
    a = services.schedule_invitation(survey=survey, person=person)
    b = services.schedule_invitation(survey=other, person=person)
    dispatch_once()
    assert sorted([status_of(a), status_of(b)]) == [Invitation.Status.SENT, Invitation.Status.SKIPPED_THROTTLED]
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_suppressed_address_is_never_emailed(smtp_sink, survey, person, in_acme):
    services.suppress_address(account=survey.account, email="ANN@example.com", reason="unsubscribed")
    invitation = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    assert status_of(invitation) == Invitation.Status.SKIPPED_SUPPRESSED
    assert smtp_sink.messages == []


def test_a_hard_bounce_in_another_account_suppresses_everywhere_but_an_unsubscribe_does_not(
        smtp_sink, survey, person, globex, in_acme):
    with cross_account():
        SuppressionFactory(account=globex, email="ann@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    assert not services.is_suppressed(account=survey.account, email="ann@example.com")
    with cross_account():
        SuppressionFactory(account=globex, email="ann@example.com", reason=Suppression.Reason.BOUNCED)
    assert services.is_suppressed(account=survey.account, email="ann@example.com")


def test_suppress_address_is_idempotent_and_emits_one_event(in_acme):
    a = services.suppress_address(account=in_acme, email="x@example.com", reason="unsubscribed")
    b = services.suppress_address(account=in_acme, email="x@example.com", reason="unsubscribed")
    assert a.pk == b.pk
    assert in_acme.events.filter(kind="person.unsubscribed").count() == 1


def test_a_suppression_added_after_the_claim_is_still_honoured(transactional_db, smtp_sink, survey, person, in_acme):
    """EM-16: the check runs under the claim, so a suppression committed just before it counts."""
    invitation = services.schedule_invitation(survey=survey, person=person)
    ids, attempt_id = services.sending.claim_due_for_account(account_id=survey.account_id)
    assert ids == [invitation.pk]

    def other_connection():
        with account_scope(survey.account):
            services.suppress_address(account=survey.account, email=person.email, reason="complained")
        connection.close()

    thread = threading.Thread(target=other_connection)
    thread.start()
    thread.join()
    services.send_invitations(account=survey.account, invitation_ids=ids, attempt_id=attempt_id)
    assert status_of(invitation) == Invitation.Status.SKIPPED_SUPPRESSED
    assert smtp_sink.messages == []


def test_an_expired_lease_while_sending_becomes_unknown_and_is_not_resent(smtp_sink, survey, person, in_acme):
    invitation = InvitationFactory(account=survey.account, survey=survey, person=person,
                                   status=Invitation.Status.SENDING,
                                   lease_until=timezone.now() - timedelta(seconds=1))
    dispatch_once()
    dispatch_once()
    assert status_of(invitation) == Invitation.Status.UNKNOWN
    assert smtp_sink.messages == []


def test_a_row_handed_to_a_lost_task_is_handed_out_again(smtp_sink, survey, person, in_acme):
    invitation = services.schedule_invitation(survey=survey, person=person)
    lost = []
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: lost.append(ids))  # the broker lost the task
    assert lost == [[invitation.pk]]
    dispatch_once()
    assert smtp_sink.messages == []  # its dispatch lease has not run out yet
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        dispatch_once()
    assert status_of(invitation) == Invitation.Status.SENT
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_late_task_of_an_earlier_hand_out_sends_nothing(smtp_sink, survey, person, in_acme):
    """The hand-out's attempt id is the task's claim: once the rows were handed out again (the first
    task looked lost), the first task's late delivery finds none of them under its attempt id."""
    invitation = services.schedule_invitation(survey=survey, person=person)
    handed: list[tuple[list[int], object]] = []
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: handed.append((ids, attempt)))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        services.dispatch_due(enqueue=lambda account_id, ids, attempt: handed.append((ids, attempt)))
    [(first_ids, first), (second_ids, second)] = handed
    assert first_ids == second_ids == [invitation.pk] and first != second
    assert services.send_invitations(account=survey.account, invitation_ids=first_ids, attempt_id=first) == {}
    assert status_of(invitation) == Invitation.Status.SCHEDULED and smtp_sink.messages == []
    assert services.send_invitations(account=survey.account, invitation_ids=second_ids,
                                     attempt_id=str(second)) == {"sent": 1}  # as the Celery task passes it
    # A second delivery of the same task: the row is no longer scheduled, nothing goes out again.
    assert services.send_invitations(account=survey.account, invitation_ids=second_ids, attempt_id=second) == {}
    assert len(smtp_sink.wait_for(1)) == 1
    assert status_of(invitation) == Invitation.Status.SENT


def test_an_unreachable_mail_server_leaves_the_row_for_a_later_attempt(settings, survey, person, in_acme):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    invitation = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    invitation.refresh_from_db()
    person.refresh_from_db()
    assert invitation.status == Invitation.Status.SCHEDULED
    assert "unreachable" in invitation.failure_reason
    assert person.last_surveyed_at is None  # the throttle was given back


def test_a_paused_account_skips_its_due_invitations(smtp_sink, survey, person, in_acme):
    in_acme.sending_paused = True
    in_acme.save()
    invitation = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    assert status_of(invitation) == Invitation.Status.SKIPPED_PAUSED


def test_the_dispatcher_is_fair_between_accounts(survey, globex, in_acme):
    people = [PersonFactory(account=in_acme) for _ in range(30)]
    for p in people:
        services.schedule_invitation(survey=survey, person=p)
    with account_scope(globex):
        g_survey = SurveyFactory(account=globex)
        g_invitations = [services.schedule_invitation(survey=g_survey, person=PersonFactory(account=globex))
                         for _ in range(3)]
    handed: dict[int, list[int]] = {}
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: handed.setdefault(account_id, []).extend(ids),
                          per_account=10)
    assert len(handed[in_acme.pk]) == 10
    assert sorted(handed[globex.pk]) == sorted(i.pk for i in g_invitations)


def test_the_email_is_rendered_in_the_survey_locale(smtp_sink, acme, person, in_acme):
    survey = services.create_survey(account=acme, name="DE", locale="de")
    services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    [message] = smtp_sink.wait_for(1)
    html = message.get_body(("html",)).get_content()
    assert "Abmelden" in html
    assert "Wie wahrscheinlich" in html


@pytest.mark.parametrize(("locale", "word"), [("fr", "désabonner"), ("fi", "Peruuta"), ("es", "Darse de baja")])
def test_an_invitation_locale_property_overrides_the_survey(smtp_sink, survey, person, in_acme, locale, word):
    services.schedule_invitation(survey=survey, person=person, properties={"locale": locale})
    dispatch_once()
    [message] = smtp_sink.wait_for(1)
    assert word.lower() in message.get_body(("plain",)).get_content().lower()


def test_delighted_properties_change_subject_intro_and_product_name(smtp_sink, survey, person, in_acme):
    services.schedule_invitation(survey=survey, person=person, properties={
        "delighted_email_subject": "Your order {{order}}", "delighted_intro_message": "Hi {{name}}!",
        "question_product_name": "Acme Rockets", "order": "A-17"})
    dispatch_once()
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Your order A-17"
    text = message.get_body(("plain",)).get_content()
    assert "Hi Ann!" in text and "recommend Acme Rockets" in text


def test_a_placeholder_nobody_fills_is_refused_when_scheduling(survey, person, in_acme):
    survey.question = "How was {{product_name}}?"
    survey.save()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.schedule_invitation(survey=survey, person=person)
    assert "{{product_name}}" in str(exc.value.message_dict["properties"])
    assert not survey.invitations.exists()
    services.schedule_invitation(survey=survey, person=person, properties={"product_name": "Rockets"})


def test_the_unsubscribe_link_of_a_received_email_works(smtp_sink, client, survey, person, in_acme):
    services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    [message] = smtp_sink.wait_for(1)
    path = urlparse(message["List-Unsubscribe"].strip().strip("<>")).path
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert services.is_suppressed(account=survey.account, email=person.email)


def test_the_dispatcher_runs_every_minute_on_beat():
    from config.celery import app

    assert app.conf.beat_schedule["surveys-dispatch"] == {"task": "surveys.dispatch", "schedule": 60.0}


def test_an_esp_backend_gets_anymail_metadata_and_one_message_per_invitation(settings, survey, person, in_acme):
    from django.core import mail

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    invitation = services.schedule_invitation(survey=survey, person=person)
    dispatch_once()
    [message] = mail.outbox
    assert message.metadata == {"account_id": str(survey.account_id), "invitation_id": str(invitation.pk)}
    assert message.extra_headers["X-Verbatim-Invitation"] == str(invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.esp_message_id == str(message.anymail_status.message_id)
