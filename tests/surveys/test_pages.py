"""The survey, people and invitation pages, as admins, members, viewers and mallory see them."""
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Person, Question, Suppression, Survey
from tests.factories import InvitationFactory, PersonFactory, QuestionFactory

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"surveys:{name}", kwargs={"account": "acme", **kwargs})


def test_an_admin_creates_a_survey_with_the_standard_question(client, alice, acme):
    client.force_login(alice)
    response = client.post(url("survey-create"), {"name": "After support", "kind": "ces", "locale": "de",
                                                  "question": ""})
    with account_scope(acme):
        survey = acme.surveys.get(name="After support")
    assert response.status_code == 302 and response["Location"] == survey.get_absolute_url()
    assert (survey.scale_min, survey.scale_max) == (1, 7)
    assert survey.question.startswith("{{company}} hat es mir leicht gemacht")
    page = client.get(survey.get_absolute_url()).content.decode()
    assert f"/s/{survey.public_id}" in page


def test_a_survey_without_a_name_is_refused_with_a_message(client, alice, acme):
    client.force_login(alice)
    response = client.post(url("survey-create"), {"name": "  ", "kind": "nps", "locale": "en"})
    assert response.status_code == 200 and "name" in response.context["form"].errors


def test_editing_a_survey_and_previewing_the_real_email(client, alice, survey, person):
    client.force_login(alice)
    response = client.post(url("survey-edit", pk=survey.pk), {
        "name": "NPS", "question": "Would you recommend {{product_name}}?", "locale": "en",
        "email_subject": "Hello from {{company}}", "email_intro": "Hi {{name}}", "placeholder_defaults":
        '{"product_name": "our app", "company": "Acme"}', "low_label": "No", "high_label": "Yes", "redirect_url": ""})
    assert response.status_code == 302
    preview = client.get(url("survey-email", pk=survey.pk))
    assert preview.status_code == 200
    assert preview.context["rendered"].subject == "Hello from Acme"
    assert "Would you recommend our app?" in preview.context["rendered"].html
    text = client.get(url("survey-email", pk=survey.pk) + "?format=text").content.decode()
    assert "Hi Ann" in text and "/r/preview/10" in text


def test_a_survey_with_an_empty_question_is_refused(client, alice, survey):
    client.force_login(alice)
    response = client.post(url("survey-edit", pk=survey.pk), {"name": "NPS", "question": "", "locale": "en"})
    assert response.status_code == 200 and "question" in response.context["form"].errors


def test_pause_resume_and_archive(client, alice, survey, person, acme):
    client.force_login(alice)
    with account_scope(acme):
        pending = services.schedule_invitation(survey=survey, person=person)
    client.post(url("survey-pause", pk=survey.pk))
    survey.refresh_from_db()
    assert survey.status == Survey.Status.PAUSED
    client.post(url("survey-resume", pk=survey.pk))
    client.post(url("survey-archive", pk=survey.pk))
    survey.refresh_from_db()
    assert survey.status == Survey.Status.ARCHIVED
    with cross_account():
        assert Invitation.objects.get(pk=pending.pk).status == Invitation.Status.CANCELLED


def test_extra_questions_are_added_ordered_and_edited(client, alice, survey, acme):
    client.force_login(alice)
    client.post(url("survey-questions", pk=survey.pk), {"kind": "yes_no", "text": "Was your issue resolved?",
                                                        "show_to": "all", "is_resolution": "on", "scale_min": 1,
                                                        "scale_max": 5})
    client.post(url("survey-questions", pk=survey.pk), {"kind": "single", "text": "Which channel?",
                                                        "choices_text": "Phone\nChat", "show_to": "detractor",
                                                        "scale_min": 1, "scale_max": 5})
    bad = client.post(url("survey-questions", pk=survey.pk), {"kind": "single", "text": "One choice",
                                                              "choices_text": "Only", "show_to": "all",
                                                              "scale_min": 1, "scale_max": 5})
    assert "choices_text" in bad.context["form"].errors
    with account_scope(acme):
        first, second = survey.questions.order_by("position")
        assert second.choices == ["Phone", "Chat"] and second.show_to == "detractor"
    client.post(url("question-move", pk=second.pk), {"direction": "up"})
    with account_scope(acme):
        assert list(survey.questions.order_by("position").values_list("text", flat=True)) == [
            "Which channel?", "Was your issue resolved?"]


def test_thank_you_pages_per_group(client, alice, survey):
    client.force_login(alice)
    client.post(url("survey-thankyou", pk=survey.pk), {
        "promoter_message": "Thanks! Review us?", "promoter_link_text": "Review",
        "promoter_link_url": "https://reviews.example/acme", "detractor_message": "Sorry, we will call you.",
        "redirect_url": ""})
    survey.refresh_from_db()
    assert survey.thank_you["promoter"]["link_url"] == "https://reviews.example/acme"
    assert survey.thank_you["detractor"] == {"message": "Sorry, we will call you."}


def test_people_are_searched_filtered_added_and_exported(client, alice, acme):
    client.force_login(alice)
    with account_scope(acme):
        PersonFactory(account=acme, email="pro@example.com", properties={"plan": "pro"})
        PersonFactory(account=acme, email="free@example.com", properties={"plan": "free", "x": "=cmd()"})
    page = client.get(url("person-list") + "?property=plan%3Dpro")
    assert [p.email for p in page.context["page"]] == ["pro@example.com"]
    assert [p.email for p in client.get(url("person-list") + "?q=free").context["page"]] == ["free@example.com"]
    response = client.post(url("person-create"), {"email": "New@Example.com", "name": "New",
                                                  "properties": '{"plan": "pro"}'})
    assert response.status_code == 302
    bad = client.post(url("person-create"), {"email": "", "name": "Nobody"})
    assert "email" in bad.context["form"].errors
    export = client.get(url("person-export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {r["email"] for r in rows} == {"pro@example.com", "free@example.com", "new@example.com"}
    assert next(r for r in rows if r["email"] == "free@example.com")["x"] == "'=cmd()"


def test_deleting_a_person_erases_their_data_but_keeps_a_hashed_unsubscribe(client, alice, acme, survey, person):
    client.force_login(alice)
    with account_scope(acme):
        invitation = InvitationFactory(account=acme, survey=survey, person=person, status="sent")
        services.suppress_address(account=acme, email=person.email, reason="unsubscribed")
    assert "Unsubscribed" in client.get(url("person-detail", pk=person.pk)).content.decode()
    assert client.post(url("person-delete", pk=person.pk)).status_code == 302
    with cross_account():
        assert not Person.objects.filter(pk=person.pk).exists()
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
        assert not Suppression.objects.filter(email__contains="ann@").exists()
    with account_scope(acme):
        again, _ = services.upsert_person(account=acme, email="ann@example.com")
        assert services.is_suppressed(account=acme, email="ann@example.com")


def test_sending_to_a_segment_and_cancelling_one(client, alice, acme, survey):
    client.force_login(alice)
    with account_scope(acme):
        pros = [PersonFactory(account=acme, properties={"plan": "pro"}) for _ in range(3)]
        PersonFactory(account=acme, properties={"plan": "free"})
    response = client.post(url("survey-send", pk=survey.pk), {"target": "segment", "property_filter":
                                                              '{"plan": "pro"}', "delay_minutes": 60})
    assert response.status_code == 302
    with account_scope(acme):
        invitations = list(survey.invitations.all())
    assert sorted(i.person_id for i in invitations) == sorted(p.pk for p in pros)
    listing = client.get(url("invitation-list") + f"?survey={survey.pk}&status=scheduled")
    assert len(listing.context["page"]) == 3
    client.post(url("invitation-cancel", pk=invitations[0].pk))
    with account_scope(acme):
        assert survey.invitations.filter(status="cancelled").count() == 1


def test_sending_to_selected_people(client, alice, acme, survey, person):
    client.force_login(alice)
    form = client.get(url("survey-send", pk=survey.pk) + f"?people={person.pk}")
    assert form.context["form"].initial["target"] == "selected"
    client.post(url("survey-send", pk=survey.pk), {"target": "selected", "person_ids": str(person.pk),
                                                   "delay_minutes": 0})
    with account_scope(acme):
        assert survey.invitations.get().person_id == person.pk


def test_a_viewer_reads_but_cannot_change(client, bob, acme, survey, person):
    client.force_login(bob)
    assert client.get(url("survey-list")).status_code == 200
    assert client.get(url("person-list")).status_code == 200
    assert client.post(url("survey-pause", pk=survey.pk)).status_code == 403
    assert client.post(url("person-delete", pk=person.pk)).status_code == 403


def test_mallory_cannot_see_or_change_acme_surveys_people_or_invitations(client, mallory, acme, survey, person):
    client.force_login(mallory)
    with account_scope(acme):
        invitation = InvitationFactory(account=acme, survey=survey, person=person)
        question = QuestionFactory(account=acme, survey=survey)
    for target in (url("survey-detail", pk=survey.pk), url("person-detail", pk=person.pk), url("person-list"),
                   url("person-export")):
        assert client.get(target).status_code == 404
    globex_url = reverse("surveys:survey-detail", kwargs={"account": "globex", "pk": survey.pk})
    assert client.get(globex_url).status_code == 404
    assert client.post(reverse("surveys:invitation-cancel", kwargs={"account": "globex", "pk": invitation.pk}
                               )).status_code == 404
    assert client.post(reverse("surveys:question-delete", kwargs={"account": "globex", "pk": question.pk}
                               )).status_code == 404
    with cross_account():
        assert Invitation.objects.get(pk=invitation.pk).status == "scheduled"
        assert Question.objects.filter(pk=question.pk).exists()


def test_admins_see_suppressed_addresses_with_reason_and_date(client, alice, acme, globex):
    client.force_login(alice)
    with account_scope(acme):
        services.suppress_address(account=acme, email="gone@example.com", reason="unsubscribed", source="one-click")
    with account_scope(globex):
        services.suppress_address(account=globex, email="globex-only@example.com", reason="complained")
    page = client.get(url("suppression-list")).content.decode()
    assert "gone@example.com" in page and "Unsubscribed" in page
    assert "globex-only@example.com" not in page


def test_an_interrupted_invitation_is_sent_again_only_when_an_admin_asks(client, alice, acme, survey, person):
    client.force_login(alice)
    with account_scope(acme):
        unknown = InvitationFactory(account=acme, survey=survey, person=person, status="unknown")
        sent = InvitationFactory(account=acme, survey=survey, person=person, status="sent")
    client.post(url("invitation-resend", pk=unknown.pk))
    client.post(url("invitation-resend", pk=sent.pk))
    with cross_account():
        assert Invitation.objects.get(pk=unknown.pk).status == "scheduled"
        assert Invitation.objects.get(pk=sent.pk).status == "sent"


def test_mallory_cannot_resend_or_list_acme_suppressions(client, mallory, acme, survey, person):
    client.force_login(mallory)
    with account_scope(acme):
        unknown = InvitationFactory(account=acme, survey=survey, person=person, status="unknown")
    assert client.post(reverse("surveys:invitation-resend", kwargs={"account": "globex", "pk": unknown.pk})
                       ).status_code == 404
    assert client.get(url("suppression-list")).status_code == 404
    with cross_account():
        assert Invitation.objects.get(pk=unknown.pk).status == "unknown"
