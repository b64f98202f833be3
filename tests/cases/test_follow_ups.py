"""Follow-up emails to promoters and passives: scheduled in rows, sent once, tracked action, suppression."""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.scoping import account_scope, cross_account
from responses import followups
from responses.models import ActionClick, FollowUp
from responses.services import record_response
from surveys.models import Suppression
from tests.factories import InvitationFactory, PersonFactory, SurveyFactory

pytestmark = pytest.mark.django_db
REVIEW = "https://reviews.example/acme"


@pytest.fixture
def review_survey(survey):
    survey.thank_you = {"promoter": {"message": "Thanks!", "link_text": "Review us", "link_url": REVIEW},
                        "passive": {"message": "Thanks", "link_text": "Tell us more",
                                    "link_url": "https://forms.example/ten"}}
    with account_scope(survey.account):
        survey.save()
    return survey


@pytest.fixture
def promoter_rule(acme, review_survey):
    with account_scope(acme):
        return followups.save_follow_up_rule(account=acme, group="promoter", delay_minutes=30,
                                             subject="Thanks {{name}}!", body="Glad you like {{company}}.",
                                             action="review")


def follow_up_of(response) -> FollowUp | None:
    with account_scope(response.account):
        return FollowUp.objects.filter(response=response).first()


def sweep_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return followups.send_due_follow_ups()


def test_a_promoter_gets_one_follow_up_after_the_delay_with_the_tracked_action(
        client, acme, respond, promoter_rule, smtp_sink):
    ann = PersonFactory(account=acme, email="ann@example.com", name="Ann")
    response = respond(10, person=ann)
    row = follow_up_of(response)
    assert row.status == FollowUp.Status.SCHEDULED and row.group == "promoter"
    assert row.due_at == pytest.approx(response.created_at + timedelta(minutes=30), abs=timedelta(seconds=5))

    assert sweep_at(row.due_at - timedelta(minutes=1)) == 0  # not yet due
    assert smtp_sink.messages == []
    assert sweep_at(row.due_at + timedelta(seconds=1)) == 1
    assert sweep_at(row.due_at + timedelta(minutes=5)) == 0  # idempotent: a second sweep finds nothing
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "ann@example.com" and message["Subject"] == "Thanks Ann!"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["List-Unsubscribe"]).strip().startswith("<http") and "/u/" in message["List-Unsubscribe"]
    assert message["X-Verbatim-Account"] == str(acme.pk)
    text = message.get_body(("plain",)).get_content()
    assert "Glad you like" in text and "Leave a review: " in text
    link = text.split("Leave a review: ", 1)[1].split()[0]

    clicked = client.get(urlsplit(link).path)
    assert clicked.status_code == 302 and clicked["Location"] == REVIEW
    with account_scope(acme):
        click = ActionClick.objects.get()
        assert (click.response_id, click.group, click.url) == (response.pk, "promoter", REVIEW)
        assert FollowUp.objects.get(pk=row.pk).status == FollowUp.Status.SENT


def answer_invitation(acme, survey, *scores):
    """Record successive clicks on one invitation (one Response, updated); returns the response."""
    with account_scope(acme):
        invitation = InvitationFactory(account=acme, survey=survey, status="sent")
        for score in scores:
            response = record_response(survey=survey, score=score, invitation=invitation, person=invitation.person)
    return response


def test_a_changed_answer_never_makes_a_second_follow_up(acme, promoter_rule, survey):
    response = answer_invitation(acme, survey, 9, 10, 9)
    with account_scope(acme):
        assert FollowUp.objects.filter(person=response.person).count() == 1
    assert follow_up_of(response).status == FollowUp.Status.SCHEDULED


def test_detractors_and_groups_without_a_rule_get_no_follow_up(acme, respond, promoter_rule):
    assert follow_up_of(respond(3)) is None
    assert follow_up_of(respond(7)) is None  # no passive rule


def test_a_survey_rule_wins_over_the_account_default_and_disabled_means_none(acme, respond, promoter_rule,
                                                                           review_survey):
    with account_scope(acme):
        own = followups.save_follow_up_rule(account=acme, survey=review_survey, group="promoter",
                                            subject="Survey-specific", body="Hi", delay_minutes=0)
    assert follow_up_of(respond(10)).rule_id == own.pk
    with account_scope(acme):
        followups.save_follow_up_rule(account=acme, survey=review_survey, group="promoter", enabled=False,
                                      subject="Off", body="Off")
    assert follow_up_of(respond(10)) is None


def test_a_score_changed_to_detractor_before_the_send_cancels_it(acme, promoter_rule, survey, smtp_sink):
    response = answer_invitation(acme, survey, 10, 2)
    assert follow_up_of(response).status == FollowUp.Status.CANCELLED
    assert sweep_at(timezone.now() + timedelta(hours=1)) == 0
    assert smtp_sink.messages == []


def test_a_passive_who_becomes_a_promoter_gets_the_promoter_email(acme, promoter_rule, survey):
    with account_scope(acme):
        followups.save_follow_up_rule(account=acme, group="passive", subject="Ten?", body="Tell us",
                                      action="question")
    response = answer_invitation(acme, survey, 7, 10)
    row = follow_up_of(response)
    assert (row.group, row.rule_id, row.status) == ("promoter", promoter_rule.pk, FollowUp.Status.SCHEDULED)


def test_a_suppressed_address_is_never_followed_up(acme, respond, promoter_rule, smtp_sink):
    ann = PersonFactory(account=acme, email="ann@example.com")
    response = respond(10, person=ann)
    with account_scope(acme):
        Suppression.objects.create(account=acme, email="ann@example.com", reason="unsubscribed")
    sweep_at(timezone.now() + timedelta(hours=1))
    assert follow_up_of(response).status == FollowUp.Status.SKIPPED_SUPPRESSED
    assert smtp_sink.messages == []


def test_a_paused_account_sends_no_follow_up(acme, respond, promoter_rule, smtp_sink):
    response = respond(10)
    acme.sending_paused = True
    acme.save()
    sweep_at(timezone.now() + timedelta(hours=1))
    assert follow_up_of(response).status == FollowUp.Status.SKIPPED_PAUSED
    assert smtp_sink.messages == []


def test_a_person_gets_at_most_one_follow_up_per_throttle_window(acme, respond, promoter_rule, smtp_sink):
    person = PersonFactory(account=acme)
    first, second = respond(10, person=person), respond(9, person=person)
    sweep_at(timezone.now() + timedelta(hours=1))
    assert [follow_up_of(first).status, follow_up_of(second).status] == [FollowUp.Status.SENT,
                                                                           FollowUp.Status.SKIPPED_THROTTLED]
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_row_interrupted_while_sending_becomes_unknown_and_is_not_resent(acme, respond, promoter_rule, smtp_sink):
    response = respond(10)
    with account_scope(acme):
        FollowUp.objects.filter(response=response).update(status=FollowUp.Status.SENDING,
                                                          lease_until=timezone.now() - timedelta(minutes=1))
    sweep_at(timezone.now() + timedelta(hours=1))
    assert follow_up_of(response).status == FollowUp.Status.UNKNOWN
    assert smtp_sink.messages == []


def test_an_unreachable_mail_server_leaves_the_row_for_a_later_sweep(acme, respond, promoter_rule, settings,
                                                                   smtp_sink):
    response = respond(10)
    good_port, settings.EMAIL_PORT = settings.EMAIL_PORT, 1
    later = timezone.now() + timedelta(hours=1)
    sweep_at(later)
    row = follow_up_of(response)
    assert row.status == FollowUp.Status.SCHEDULED and row.attempts == 1 and row.due_at > later
    settings.EMAIL_PORT = good_port
    assert sweep_at(later + timedelta(minutes=5)) == 1


def test_bad_rule_input_names_the_field(acme):
    with account_scope(acme), pytest.raises(ValidationError) as error:
        followups.save_follow_up_rule(account=acme, group="detractor", subject="x", body="y")
    assert "group" in error.value.message_dict
    with account_scope(acme), pytest.raises(ValidationError) as error:
        followups.save_follow_up_rule(account=acme, group="passive", subject=" ", body="y")
    assert "subject" in error.value.message_dict


def test_the_beat_task_sends_due_follow_ups_through_the_worker(celery_worker, acme, smtp_sink):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        followups.save_follow_up_rule(account=acme, group="passive", subject="What would make it a 10?",
                                      body="Tell us", delay_minutes=0, action="question")
        response = record_response(survey=survey, score=8, person=PersonFactory(account=acme), channel="link")
    followups.send_due_follow_ups_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and follow_up_of(response).status in ("scheduled", "sending"):
        time.sleep(0.1)
    with cross_account():
        assert FollowUp.objects.get(response=response).status == FollowUp.Status.SENT
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "What would make it a 10?"


def test_a_batch_of_follow_ups_shares_one_mail_connection(acme, respond, promoter_rule, smtp_sink):
    responses = [respond(10) for _ in range(3)]
    assert sweep_at(timezone.now() + timedelta(hours=1)) == 3
    assert len(smtp_sink.wait_for(3)) == 3 and smtp_sink.connections == 1
    assert {follow_up_of(r).status for r in responses} == {FollowUp.Status.SENT}


@pytest.mark.parametrize(("locale", "link_text", "unsubscribe"), [
    ("de", "Bewertung abgeben", "Abmelden"), ("fr", "Laisser un avis", "Se désabonner"),
    ("fi", "Jätä arvio", "Peruuta tilaus"), ("es", "Deja una reseña", "Darse de baja")])
def test_the_follow_up_speaks_the_survey_language(acme, respond, promoter_rule, review_survey, smtp_sink,
                                                  locale, link_text, unsubscribe):
    review_survey.locale = locale
    with account_scope(acme):
        review_survey.save()
    row = follow_up_of(respond(9, person=PersonFactory(account=acme, email="bo@example.com")))
    assert sweep_at(row.due_at + timedelta(seconds=1)) == 1
    [message] = smtp_sink.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    assert f"{link_text}: " in text and f"{unsubscribe}: " in text
