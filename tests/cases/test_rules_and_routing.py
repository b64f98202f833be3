"""Which responses open a case, and who gets it."""
from __future__ import annotations

from accounts.events import Event
from accounts.scoping import account_scope
from responses import cases
from tests.cases.conftest import case_of
from tests.factories import PersonFactory, SurveyFactory


def test_a_detractor_opens_a_case_by_default_and_a_promoter_does_not(acme, alice, respond):
    detractor, promoter = respond(3), respond(9)
    case = case_of(detractor)
    assert case is not None and case.status == "open" and case.group == "detractor"
    assert case_of(promoter) is None
    with account_scope(acme):
        assert Event.objects.filter(kind="case.created", payload__case_id=case.pk).count() == 1
        assert [r.name for r in acme.case_rules.all()] == ["Every detractor"]


def test_a_second_click_does_not_open_a_second_case(acme, alice, survey, respond):
    response = respond(2)
    with account_scope(acme):
        from responses.services import record_response

        record_response(survey=survey, score=3, person=response.person, comment="still bad")
        assert acme.cases.count() == 2  # without an invitation each call is a new response
        assert acme.cases.filter(response=response).count() == 1


def test_rules_by_property_comment_and_survey(acme, alice, survey, respond, settings_row):
    other = SurveyFactory(account=acme, name="Support CSAT")
    with account_scope(acme):
        acme.case_rules.all().delete()
        cases.create_case_rule(account=acme, name="Passives of Paris with a comment", score_groups=["passive"],
                               property_name="store", property_value="Paris", requires_comment=True)
        cases.create_case_rule(account=acme, name="Anything on support", survey=other)
    assert case_of(respond(7, store="Paris", comment="meh")) is not None
    assert case_of(respond(7, store="paris ", comment="meh")) is not None  # trimmed, case-insensitive
    assert case_of(respond(7, store="Paris")) is None  # no comment
    assert case_of(respond(7, store="Lyon", comment="meh")) is None
    assert case_of(respond(2)) is None  # detractors no longer match any rule
    assert case_of(respond(10, target=other)) is not None


def test_a_rule_with_half_a_property_is_refused(acme, settings_row):
    import pytest
    from django.core.exceptions import ValidationError

    with account_scope(acme), pytest.raises(ValidationError) as exc:
        cases.create_case_rule(account=acme, name="x", property_name="store")
    assert "property_value" in exc.value.message_dict


def test_routing_rules_send_cases_to_an_address_or_a_member(acme, alice, carol, respond, settings_row):
    with account_scope(acme):
        cases.create_routing_rule(account=acme, property_name="store", property_value="Paris",
                                  assignee_email="paris@acme.example")
        cases.create_routing_rule(account=acme, property_name="agent", property_value="carol", assignee=carol)
    paris = case_of(respond(1, store="Paris"))
    assert paris.assignee is None and paris.assignee_email == "paris@acme.example"
    assert case_of(respond(1, agent="carol")).assignee == carol


def test_a_person_property_routes_too(acme, alice, carol, respond, settings_row):
    with account_scope(acme):
        cases.create_routing_rule(account=acme, property_name="region", property_value="north", assignee=carol)
        person = PersonFactory(account=acme, properties={"region": "North"})
    assert case_of(respond(0, person=person)).assignee == carol


def test_without_a_matching_route_cases_go_round_robin_to_members_not_viewers(acme, alice, carol, bob, respond):
    assignees = [case_of(respond(s)).assignee for s in (0, 1, 2, 3)]
    assert assignees == [alice, carol, alice, carol]
    assert bob not in assignees


def test_routing_to_someone_outside_the_account_is_refused(acme, globex, mallory, settings_row):
    import pytest
    from django.core.exceptions import ValidationError

    with account_scope(acme), pytest.raises(ValidationError) as exc:
        cases.create_routing_rule(account=acme, property_name="store", property_value="x", assignee=mallory)
    assert "assignee" in exc.value.message_dict


def test_suspected_bot_clicks_open_no_case(acme, alice, survey):
    from responses.services import record_response

    with account_scope(acme):
        response = record_response(survey=survey, score=0, person=PersonFactory(account=acme), suspected_bot=True,
                                   bot_reason="scanner")
    assert case_of(response) is None


def test_a_new_account_starts_with_the_every_detractor_rule(db):
    from accounts.services import create_account
    from tests.factories import UserFactory

    account = create_account(name="Initech", owner=UserFactory())
    with account_scope(account):
        assert [(r.name, r.score_groups) for r in account.case_rules.all()] == [("Every detractor", ["detractor"])]
