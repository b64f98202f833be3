"""The holdout experiment: an honest random share of detractor cases is left without outreach."""
from __future__ import annotations

from accounts.scoping import account_scope
from responses import case_selectors, cases
from tests.cases.conftest import case_of


def test_the_draw_is_reproducible_and_respects_the_share():
    draws = [cases.holdout_draw(seed="seed-42", response_id=i, percent=20) for i in range(1, 20001)]
    assert draws == [cases.holdout_draw(seed="seed-42", response_id=i, percent=20) for i in range(1, 20001)]
    assert 0.19 < sum(draws) / len(draws) < 0.21
    other_seed = [cases.holdout_draw(seed="seed-43", response_id=i, percent=20) for i in range(1, 20001)]
    assert draws != other_seed
    assert not any(cases.holdout_draw(seed="seed-42", response_id=i, percent=0) for i in range(1, 1000))


def test_holdout_share_is_respected_and_independent_of_the_score(acme, alice, respond, settings_row):
    with account_scope(acme):
        cases.update_case_settings(account=acme, holdout_percent=30)
    opened = [case_of(respond(score)) for _ in range(50) for score in range(7)]  # 350 detractors
    held = [c for c in opened if c.holdout]
    assert all(c.experiment for c in opened)
    assert 0.22 < len(held) / len(opened) < 0.38  # binomial(350, 0.3): +-4.8 standard errors
    low = [c.holdout for c in opened if c.response.score <= 3]
    high = [c.holdout for c in opened if c.response.score >= 4]
    assert abs(sum(low) / len(low) - sum(high) / len(high)) < 0.2  # no relation to the score
    assert all(c.assignee is None and c.due_at is None for c in held)
    assert all(c.assignee is not None and c.due_at is not None for c in opened if not c.holdout)


def test_passives_are_never_held_out(acme, alice, respond, settings_row):
    with account_scope(acme):
        cases.update_case_settings(account=acme, holdout_percent=50)
        cases.create_case_rule(account=acme, name="Passives", score_groups=["passive"])
    opened = [case_of(respond(7)) for _ in range(20)]
    assert not any(c.holdout or c.experiment for c in opened)


def test_held_out_cases_are_hidden_from_the_inbox_and_shown_to_admins_in_the_report(acme, alice, respond,
                                                                                    settings_row):
    with account_scope(acme):
        cases.update_case_settings(account=acme, holdout_percent=50)
    opened = [case_of(respond(2)) for _ in range(30)]
    held = {c.pk for c in opened if c.holdout}
    assert held
    with account_scope(acme):
        shown = {c.pk for c in case_selectors.inbox(acme, user=alice, view="all")}
        report = case_selectors.holdout_report(acme)
    assert not shown & held and shown == {c.pk for c in opened} - held
    assert {c.pk for c in report["holdout_cases"]} == held
    assert report["holdout"].cases == len(held)


def test_a_holdout_share_over_half_is_refused(acme, settings_row):
    import pytest
    from django.core.exceptions import ValidationError

    with account_scope(acme), pytest.raises(ValidationError) as exc:
        cases.update_case_settings(account=acme, holdout_percent=80)
    assert "holdout_percent" in exc.value.message_dict
