"""Rollups written in the response's transaction equal a rebuild from raw rows."""
from __future__ import annotations

import random

import pytest

from accounts.scoping import account_scope
from responses import services
from responses.models import DailyRollup
from responses.rollups import rebuild_rollups
from surveys.models import Channel
from tests.responses.conftest import mint_link

pytestmark = pytest.mark.django_db


def snapshot(account):
    return sorted((r.survey_id, r.day, r.channel, tuple(r.counts), r.comments)
                  for r in DailyRollup.objects.filter(account=account))


def test_rollups_equal_a_rebuild_after_creates_edits_comments_and_bot_flags(survey, questions):
    rng = random.Random(4)
    links = [mint_link(survey) for _ in range(12)]
    with account_scope(survey.account):
        for _round in range(4):
            for link in links:
                action = rng.choice(["score", "comment", "answers", "bot", "confirm"])
                if action == "bot":
                    services.record_response(survey=survey, invitation=link.invitation, score=rng.randint(0, 10),
                                             suspected_bot=True, bot_reason="test", automatic=True)
                elif action == "comment":
                    services.record_response(survey=survey, invitation=link.invitation, score=rng.randint(0, 10),
                                             comment=rng.choice(["", "ok", "meh"]))
                elif action == "answers":
                    response = services.record_response(survey=survey, invitation=link.invitation, score=6)
                    services.record_answers(response=response, answers={}, comment=rng.choice(["", "why"]))
                else:
                    services.record_response(survey=survey, invitation=link.invitation, score=rng.randint(0, 10))
        for _ in range(5):
            services.record_response(survey=survey, score=rng.randint(0, 10), channel=Channel.LINK, comment="link")
        live = snapshot(survey.account)
        assert sum(sum(r[3]) for r in live) > 0
        rebuild_rollups(account=survey.account)
        assert snapshot(survey.account) == live
