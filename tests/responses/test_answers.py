"""The comment box, the extra questions of the score's group and the thank-you page."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from accounts.scoping import account_scope
from responses import services
from responses.models import Answer, Response
from surveys.models import Question
from tests.factories import QuestionFactory

pytestmark = pytest.mark.django_db


def saved(link):
    with account_scope(link.invitation.account):
        response = Response.objects.get(invitation=link.invitation)
        return response, {a.question.text: (a.value, a.other_text) for a in response.answers.select_related("question")}


def fieldset_of(page: str, text: str) -> str:
    start = page.rfind("<fieldset", 0, page.index(text))
    return page[start:page.index(">", start)]


def test_a_promoter_sees_only_the_promoter_and_everyone_questions(client, link):
    page = client.get(link.score_url(10)).content.decode()
    assert "hidden" not in fieldset_of(page, "What did you like most?")
    assert "hidden" in fieldset_of(page, "Was your issue resolved?")
    assert "hidden" not in fieldset_of(page, "How easy was sign-up?")


def test_a_detractor_sees_the_resolution_question_and_not_the_promoter_one(client, link):
    page = client.get(link.score_url(2)).content.decode()
    assert "hidden" in fieldset_of(page, "What did you like most?")
    assert "hidden" not in fieldset_of(page, "Was your issue resolved?")


def test_a_promoter_submits_a_comment_and_other_and_sees_the_promoter_thank_you(client, link, questions):
    liked = questions["What did you like most?"]
    ease = questions["How easy was sign-up?"]
    response = client.post(link.url, {"score": "10", "comment": "  Fast and friendly  ",
                                      f"q{liked.pk}": "other", f"q{liked.pk}_other": "The onboarding call",
                                      f"q{ease.pk}": "4"})
    assert response.status_code == 302
    thanks = client.get(response["Location"]).content.decode()
    assert "Promoters rock! Leave us a review." in thanks
    assert f'href="/r/{link.token}/action"' in thanks  # the review link counts clicks (test_actions.py)
    answer, answers = saved(link)
    assert (answer.score, answer.comment) == (10, "Fast and friendly")
    assert answer.completed_at is not None
    assert answers == {"What did you like most?": ("other", "The onboarding call"), "How easy was sign-up?": (4, "")}


def test_answers_to_another_groups_question_are_refused_by_name(client, link, questions):
    resolved = questions["Was your issue resolved?"]
    body = {"score": 10, "answers": {str(resolved.pk): "yes"}}
    response = client.post(link.url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert f"q{resolved.pk}" in response.json()["errors"]
    with account_scope(link.invitation.account):
        assert not Response.objects.exists()  # nothing half-written


def test_a_form_only_posts_the_questions_it_shows(client, link, questions):
    """A browser does not post disabled (hidden) fieldsets; the view ignores what it did not ask."""
    client.post(link.url, {"score": "3", f"q{questions['Was your issue resolved?'].pk}": "no"})
    _response, answers = saved(link)
    assert answers == {"Was your issue resolved?": (False, "")}


@pytest.mark.parametrize(("text", "value", "field_error"), [
    ("What did you like most?", "Colour", "Choose one of the answers offered."),
    ("What did you like most?", {"value": "other", "other": ""}, 'Please say what "other" means for you.'),
    ("How easy was sign-up?", 9, "Choose a number between 1 and 5."),
    ("How easy was sign-up?", "x", "Choose a number."),
])
def test_bad_answers_get_a_400_naming_the_question(client, link, questions, text, value, field_error):
    question = questions[text]
    response = client.post(link.url, json.dumps({"score": 10, "answers": {str(question.pk): value}}),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][f"q{question.pk}"] == [field_error]


def test_yes_no_accepts_only_yes_or_no(client, link, questions):
    question = questions["Was your issue resolved?"]
    response = client.post(link.url, json.dumps({"score": 1, "answers": {str(question.pk): "maybe"}}),
                           content_type="application/json")
    assert response.json()["errors"][f"q{question.pk}"] == ["Answer yes or no."]
    response = client.post(link.url, json.dumps({"score": 1, "answers": {str(question.pk): True}}),
                           content_type="application/json")
    assert response.status_code == 200


def test_a_too_long_comment_comes_back_with_the_error(client, link):
    response = client.post(link.url, {"score": "8", "comment": "x" * 5001})
    assert response.status_code == 400
    assert "Please keep the comment under 5000 characters." in response.content.decode()


def test_a_required_question_must_be_answered(client, link, survey):
    with account_scope(survey.account):
        required = QuestionFactory(account=survey.account, survey=survey, kind=Question.Kind.TEXT,
                                   text="Anything else?", choices=[], required=True, position=9)
    response = client.post(link.url, {"score": "8"})
    assert response.status_code == 400
    assert "Please answer this question." in response.content.decode()
    assert client.post(link.url, {"score": "8", f"q{required.pk}": "No"}).status_code == 302


def test_the_comment_can_be_edited_within_the_window_and_not_after(client, link, time_machine):
    client.post(link.url, {"score": "8", "comment": "first"})
    client.post(link.url, {"score": "8", "comment": "second thoughts"})
    response, _answers = saved(link)
    assert response.comment == "second thoughts"
    time_machine.move_to(response.created_at + timedelta(days=31))
    page = client.post(link.url, {"score": "8", "comment": "too late"})
    assert page.status_code == 400
    assert "This answer can no longer be changed." in page.content.decode()
    assert saved(link)[0].comment == "second thoughts"


def test_record_answers_clears_an_answer_left_empty(link, questions):
    with account_scope(link.invitation.account):
        response = services.record_response(survey=link.invitation.survey, invitation=link.invitation, score=9)
        ease = questions["How easy was sign-up?"]
        services.record_answers(response=response, answers={ease.pk: 5})
        services.record_answers(response=response, answers={ease.pk: ""})
        assert not Answer.objects.filter(response=response).exists()
        with pytest.raises(ValidationError) as error:
            services.record_answers(response=response, answers={"q999999": 1})
        assert "q999999" in error.value.message_dict


def test_the_detractor_thank_you_is_shown_to_a_detractor(client, link):
    client.post(link.url, {"score": "1"})
    page = client.get(f"{link.url}/thanks").content.decode()
    assert "Sorry to hear that. We will do better." in page
    assert "Promoters rock" not in page


def test_the_thank_you_page_before_any_answer_goes_back_to_the_form(client, link):
    assert client.get(f"{link.url}/thanks")["Location"] == link.url


def test_mallory_signed_in_cannot_read_the_answers_in_the_feed(client, mallory, link):
    client.post(link.url, {"score": "1", "comment": "secret"})
    client.force_login(mallory)
    response, _answers = saved(link)
    assert client.get(response.get_absolute_url()).status_code == 404
    assert "secret" not in client.get("/app/globex/responses/").content.decode()
