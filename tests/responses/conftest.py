"""Fixtures for the respondent flow: an acme NPS survey with extra questions and a minted token."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope, cross_account
from surveys.models import Invitation, Question, Survey
from surveys.tokens import new_token
from tests.factories import InvitationFactory, PersonFactory, QuestionFactory, SurveyFactory


@dataclass
class Link:
    """An invitation and the raw token only its email knows."""

    invitation: Invitation
    token: str

    def score_url(self, score: int) -> str:
        return f"/r/{self.token}/{score}"

    @property
    def url(self) -> str:
        return f"/r/{self.token}"


def mint_link(survey: Survey, *, expires_in: timedelta = timedelta(days=90), **fields) -> Link:
    raw, digest = new_token()
    with cross_account():
        invitation = InvitationFactory(
            account=survey.account, survey=survey, token_hash=digest,
            token_expires_at=timezone.now() + expires_in, sent_at=timezone.now(),
            person=fields.pop("person", None) or PersonFactory(account=survey.account),
            **{"status": Invitation.Status.SENT, **fields})
    return Link(invitation=invitation, token=raw)


@pytest.fixture
def survey(acme):
    with account_scope(acme):
        survey = SurveyFactory(
            account=acme, name="Onboarding NPS",
            thank_you={"promoter": {"message": "Promoters rock! Leave us a review.", "link_text": "Review us",
                                    "link_url": "https://reviews.example/acme"},
                       "detractor": {"message": "Sorry to hear that. We will do better."}})
        QuestionFactory(account=acme, survey=survey, position=1, kind=Question.Kind.SINGLE,
                        text="What did you like most?", choices=["Speed", "Price", "Support"], allow_other=True,
                        show_to=Question.ShowTo.PROMOTER)
        QuestionFactory(account=acme, survey=survey, position=2, kind=Question.Kind.YES_NO,
                        text="Was your issue resolved?", choices=[], show_to=Question.ShowTo.DETRACTOR,
                        is_resolution=True)
        QuestionFactory(account=acme, survey=survey, position=3, kind=Question.Kind.SCALE,
                        text="How easy was sign-up?", choices=[], scale_min=1, scale_max=5)
    return survey


@pytest.fixture
def questions(survey):
    with account_scope(survey.account):
        return {q.text: q for q in survey.questions.all()}


@pytest.fixture
def link(survey):
    return mint_link(survey)


@pytest.fixture
def globex_survey(globex):
    with account_scope(globex):
        return SurveyFactory(account=globex, name="Globex NPS")


@pytest.fixture
def globex_link(globex_survey):
    return mint_link(globex_survey)
