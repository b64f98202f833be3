"""A respondent in real Chromium: from the score link in a real email to the thank-you page.

The link comes from the invitation email captured at the SMTP sink (the surveys send path), with
SITE_URL pointed at the live server. Screenshots: .pytest-artifacts/screenshots/respondent-*.png.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.scoping import account_scope
from responses.models import Response
from surveys.models import Question
from surveys.services import schedule_invitation
from surveys.services.sending import send_invitations
from tests.browser.conftest import shot
from tests.factories import AccountFactory, PersonFactory, QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emailed(live_server, smtp_sink, settings):
    """An acme NPS survey with extra questions, sent to dana: returns (survey, questions, email text)."""
    settings.SITE_URL = live_server.url
    acme = AccountFactory(name="Acme", slug="acme", brand_color="#0b7285", sender_email="feedback@acme.example")
    with account_scope(acme):
        survey = SurveyFactory(
            account=acme, name="Onboarding NPS",
            thank_you={"promoter": {"message": "Promoters rock! Leave us a review.", "link_text": "Review us",
                                    "link_url": "https://reviews.example/acme"},
                       "detractor": {"message": "Sorry to hear that."}})
        liked = QuestionFactory(account=acme, survey=survey, position=1, kind=Question.Kind.SINGLE,
                                text="What did you like most?", choices=["Speed", "Price", "Support"],
                                allow_other=True, show_to=Question.ShowTo.PROMOTER)
        resolved = QuestionFactory(account=acme, survey=survey, position=2, kind=Question.Kind.YES_NO,
                                   text="Was your issue resolved?", choices=[], show_to=Question.ShowTo.DETRACTOR)
        person = PersonFactory(account=acme, email="dana@customer.example", name="Dana")
        invitation = schedule_invitation(survey=survey, person=person)
    send_invitations(account=acme, invitation_ids=[invitation.pk])
    [message] = smtp_sink.wait_for(1)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return survey, {"liked": liked, "resolved": resolved}, text


def link_for(text: str, base: str, score: int) -> str:
    match = re.search(re.escape(base) + r"(/r/[\w-]+/" + str(score) + r")\b", text)
    assert match, f"no score link for {score} in the email:\n{text}"
    return match.group(1)


def saved_response(survey):
    with account_scope(survey.account):
        return Response.objects.filter(survey=survey).prefetch_related("answers__question").first()


def csp_violations(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def answer_as_promoter(page, path: str, name: str) -> None:
    violations = csp_violations(page)
    page.goto(path)
    expect(page.get_by_role("radio", name="10")).to_be_checked()
    # The page records the score by itself once visible for ~1.5 s: wait for it to say so.
    expect(page.get_by_role("status")).to_have_text(re.compile("Your score is saved"))
    expect(page.get_by_text("What did you like most?")).to_be_visible()
    expect(page.get_by_text("Was your issue resolved?")).to_be_hidden()
    page.get_by_label("What is the main reason for your score?").fill("The onboarding call was superb")
    page.get_by_role("radio", name="Other", exact=True).check()
    page.get_by_label("Other, please specify").fill("The people")
    shot(page, f"{name}-answering")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible()
    expect(page.get_by_text("Promoters rock! Leave us a review.")).to_be_visible()
    shot(page, f"{name}-thanks")
    assert violations == []


def test_a_promoter_clicks_the_email_link_comments_answers_other_and_sees_the_promoter_thanks(page, emailed,
                                                                                               live_server):
    survey, questions, text = emailed
    answer_as_promoter(page, link_for(text, live_server.url, 10), "respondent-desktop")
    response = saved_response(survey)
    assert (response.score, response.comment, response.suspected_bot) == (10, "The onboarding call was superb", False)
    assert [(a.question.text, a.value, a.other_text) for a in response.answers.all()] == [
        ("What did you like most?", "other", "The people")]


def test_the_same_on_a_phone(phone_page, emailed, live_server):
    survey, questions, text = emailed
    answer_as_promoter(phone_page, link_for(text, live_server.url, 10), "respondent-phone")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    assert saved_response(survey).comment == "The onboarding call was superb"


def test_clicking_another_score_changes_the_answer_and_its_questions(page, emailed, live_server):
    survey, questions, text = emailed
    page.goto(link_for(text, live_server.url, 10))
    expect(page.get_by_role("status")).to_have_text(re.compile("Your score is saved"))
    page.get_by_role("radio", name="3", exact=True).check()
    expect(page.get_by_text("Was your issue resolved?")).to_be_visible()
    expect(page.get_by_text("What did you like most?")).to_be_hidden()
    page.get_by_role("radio", name="No", exact=True).check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Sorry to hear that.")).to_be_visible()
    response = saved_response(survey)
    assert response.score == 3
    assert [(a.question.text, a.value) for a in response.answers.all()] == [("Was your issue resolved?", False)]
    with account_scope(survey.account):
        assert Response.objects.count() == 1


def test_without_javascript_nothing_is_recorded_until_submit(chromium, live_server, emailed):
    survey, questions, text = emailed
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(link_for(text, live_server.url, 8))
        expect(page.get_by_role("radio", name="8", exact=True)).to_be_checked()
        page.wait_for_timeout(2000)  # longer than the page's own delay: without script nothing posts
        assert saved_response(survey) is None
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible()
        assert saved_response(survey).score == 8
    finally:
        context.close()
