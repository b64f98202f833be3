"""Every change of a case is in its history; replies go out by email and are recorded."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.scoping import account_scope
from responses import case_selectors, cases
from responses.models import Case
from tests.cases.conftest import case_of


def test_history_records_every_change(acme, alice, carol, respond):
    case = case_of(respond(2, comment="Slow delivery"))
    with account_scope(acme):
        cases.assign_case(case=case, by=alice, assignee=carol)
        cases.add_response_note(response=case.response, body="Will call tomorrow", by=carol)
        cases.set_response_tags(response=case.response, tags="Delivery, late, delivery", by=carol)
        cases.change_case_status(case=case, status=Case.Status.CONTACTED, by=carol, channel="phone")
        cases.change_case_status(case=case, status=Case.Status.CONTACTED, by=carol, channel="phone")  # no change
        cases.change_case_status(case=case, status=Case.Status.RESOLVED, by=carol)
        events = list(case.events.order_by("created_at", "pk"))
        case.refresh_from_db()
        case.response.refresh_from_db()
    assert [e.kind for e in events] == ["opened", "assigned", "note", "tags", "status", "status"]
    assert events[1].data == {"from": "alice@acme.example", "to": "carol@acme.example"} and events[1].by == alice
    assert events[3].data == {"from": [], "to": ["delivery", "late"]}
    assert [(e.data["from"], e.data["to"]) for e in events[4:]] == [("open", "contacted"), ("contacted", "resolved")]
    assert case.status == "resolved" and case.contact_channel == "phone"
    assert case.contacted_at is not None and case.closed_at is not None
    assert case.response.tags == ["delivery", "late"]


def test_an_unknown_status_is_refused_and_nothing_is_recorded(acme, alice, respond):
    case = case_of(respond(2))
    with account_scope(acme):
        with pytest.raises(ValidationError) as exc:
            cases.change_case_status(case=case, status="lost", by=alice)
        assert "status" in exc.value.message_dict
        assert case.events.count() == 1


def test_a_reply_by_email_goes_through_verbatim_and_is_recorded(acme, alice, respond, smtp_sink):
    response = respond(1, comment="Broken on arrival")
    case = case_of(response)
    with account_scope(acme):
        cases.reply_to_case(case=case, subject="Sorry about your order", body="We are sending a new one.",
                            by=alice)
        case.refresh_from_db()
        note = case.notes.get()
    message = smtp_sink.wait_for(1)[0]
    assert message["To"] == response.person.email
    assert message["Reply-To"] == "alice@acme.example"
    assert "feedback@acme.example" in message["From"]
    assert "We are sending a new one." in message.get_content()
    assert note.kind == "email" and "Sorry about your order" in note.body
    assert case.status == "contacted" and case.contact_channel == "email"


def test_the_next_response_shows_the_change(acme, alice, survey, respond):
    first = respond(3)
    case = case_of(first)
    respond(9, person=first.person)
    with account_scope(acme):
        detail = case_selectors.case_detail(Case.objects.select_related("response", "person").get(pk=case.pk))
    assert (detail["group"], first.score, detail["next_group"], detail["next"].score) == (
        "detractor", 3, "promoter", 9)


def test_tags_and_notes_work_on_any_response(acme, alice, respond):
    promoter = respond(10)
    with account_scope(acme):
        cases.add_response_note(response=promoter, body="Ask for a review", by=alice)
        cases.set_response_tags(response=promoter, tags=["Reviewer"], by=alice)
        promoter.refresh_from_db()
        assert [n.body for n in promoter.notes.all()] == ["Ask for a review"]
    assert promoter.tags == ["reviewer"]


def test_a_reply_that_cannot_be_sent_records_nothing(acme, alice, respond, smtp_sink, settings):
    case = case_of(respond(1))
    settings.EMAIL_PORT = 1  # nothing listens there
    with account_scope(acme):
        with pytest.raises(ValidationError) as exc:
            cases.reply_to_case(case=case, subject="Sorry", body="Hello", by=alice)
        assert "body" in exc.value.message_dict
        case.refresh_from_db()
        assert case.status == "open" and not case.notes.exists() and case.events.count() == 1
