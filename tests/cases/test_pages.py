"""The case pages: inbox, case page, one-click actions, settings, experiment report, and isolation."""
from __future__ import annotations

from datetime import timedelta

from django.urls import reverse

from accounts.scoping import account_scope, cross_account
from responses import cases
from responses.models import Case
from tests.cases.conftest import case_of
from tests.factories import CaseFactory, ResponseFactory


def url(name: str, account: str = "acme", **kwargs) -> str:
    return reverse(f"responses:{name}", kwargs={"account": account, **kwargs})


def test_the_inbox_shows_my_open_cases_overdue_first(client, acme, alice, carol, respond):
    first, second = case_of(respond(1, comment="first")), case_of(respond(2, comment="second"))
    mine = case_of(respond(3, comment="late one"))
    assert first.assignee == alice and mine.assignee == alice and second.assignee == carol
    with account_scope(acme):
        Case.objects.filter(pk=mine.pk).update(due_at=mine.due_at - timedelta(hours=2))
    client.force_login(alice)
    page = client.get(url("case-list")).content.decode()
    assert page.index("late one") < page.index("first") and "second" not in page
    assert "Overdue" in page
    everyone = client.get(url("case-list") + "?view=open").content.decode()
    assert "second" in everyone


def test_the_case_page_shows_the_response_notes_and_history(client, acme, alice, respond):
    case = case_of(respond(2, comment="Cold food", store="Paris"))
    client.force_login(alice)
    client.post(url("case-note", pk=case.pk), {"body": "Called, refund offered"})
    client.post(url("case-status", pk=case.pk), {"status": "contacted", "channel": "phone"})
    page = client.get(url("case-detail", pk=case.pk)).content.decode()
    assert "Cold food" in page and "Paris" in page and "Called, refund offered" in page
    assert "Contacted" in page and "Phone" in page
    with account_scope(acme):
        assert [e.kind for e in case.events.all()] == ["opened", "note", "status"]


def test_a_bad_post_says_what_is_wrong(client, acme, alice, respond):
    case = case_of(respond(2))
    client.force_login(alice)
    response = client.post(url("case-status", pk=case.pk), {"status": "lost"}, follow=True)
    assert "lost" in response.content.decode() or "valid choice" in response.content.decode()
    with account_scope(acme):
        assert Case.objects.get(pk=case.pk).status == "open"


def test_a_viewer_reads_cases_but_cannot_change_them(client, acme, alice, bob, respond):
    case = case_of(respond(2))
    client.force_login(bob)
    assert client.get(url("case-detail", pk=case.pk)).status_code == 200
    assert client.post(url("case-status", pk=case.pk), {"status": "resolved"}).status_code == 403
    with account_scope(acme):
        assert Case.objects.get(pk=case.pk).status == "open"


def test_members_cannot_open_the_settings_or_the_experiment(client, acme, carol):
    client.force_login(carol)
    assert client.get(url("casesettings-edit")).status_code == 403
    assert client.get(url("case-experiment")).status_code == 403


def test_an_admin_sets_rules_routing_and_the_sla(client, acme, alice, carol):
    client.force_login(alice)
    assert client.get(url("casesettings-edit")).status_code == 200
    client.post(url("caserule-create"), {"name": "Angry comments", "score_groups": ["detractor"],
                                         "requires_comment": "on"})
    client.post(url("routingrule-create"), {"property_name": "store", "property_value": "Paris",
                                            "assignee": carol.pk})
    response = client.post(url("casesettings-edit"), {
        "business_start": "08:00", "business_end": "18:00", "business_days": ["1", "2", "3"],
        "detractor_sla_minutes": "15", "other_sla_hours": "48", "escalate_admins_after_minutes": "30",
        "holdout_percent": "20"})
    assert response.status_code == 302
    with account_scope(acme):
        row = cases.case_settings(acme)
        assert (row.detractor_sla_minutes, row.weekdays, row.holdout_percent) == (15, [1, 2, 3], 20)
        assert [r.name for r in acme.case_rules.all()] == ["Every detractor", "Angry comments"]
        assert acme.routing_rules.get().assignee == carol
    bad = client.post(url("casesettings-edit"), {
        "business_start": "18:00", "business_end": "08:00", "detractor_sla_minutes": "5", "other_sla_hours": "24",
        "escalate_admins_after_minutes": "60", "holdout_percent": "90"})
    assert bad.status_code == 400
    assert "Hold out between 0 and 50" in bad.content.decode()


def test_the_experiment_page_shows_both_arms(client, acme, alice, respond):
    with account_scope(acme):
        cases.update_case_settings(account=acme, holdout_percent=50)
    for _ in range(6):
        respond(2)
    client.force_login(alice)
    page = client.get(url("case-experiment")).content.decode()
    assert "Contacted (" in page and "Held out (" in page and "No significant difference yet" in page


def test_notes_and_tags_on_a_response_without_a_case(client, acme, alice, respond):
    response = respond(10)
    client.force_login(alice)
    client.post(url("response-note", pk=response.pk), {"body": "Happy to give a testimonial"})
    client.post(url("response-tags", pk=response.pk), {"tags": "testimonial"})
    page = client.get(url("response-detail", pk=response.pk)).content.decode()
    assert "Happy to give a testimonial" in page and "testimonial" in page


def test_mallory_cannot_see_or_change_acme_cases(client, acme, globex, mallory):
    with cross_account():
        case = CaseFactory(account=acme)
        other = ResponseFactory(account=acme)
    client.force_login(mallory)
    assert client.get(url("case-detail", pk=case.pk)).status_code == 404
    assert client.get(url("case-detail", account="globex", pk=case.pk)).status_code == 404
    assert client.post(url("case-status", account="globex", pk=case.pk), {"status": "resolved"}).status_code == 404
    assert client.post(url("response-note", account="globex", pk=other.pk), {"body": "x"}).status_code == 404
    assert client.get(url("case-list")).status_code == 404
    with cross_account():
        case.refresh_from_db()
        assert case.status == "open" and not case.events.exists() and not other.notes.exists()


def test_a_held_out_case_is_for_admins_only(client, acme, alice, carol, respond):
    with account_scope(acme):
        cases.update_case_settings(account=acme, holdout_percent=50)
    opened = [case_of(respond(2)) for _ in range(20)]
    held = next(c for c in opened if c.holdout)
    client.force_login(carol)
    assert client.get(url("case-detail", pk=held.pk)).status_code == 404
    assert client.post(url("case-status", pk=held.pk), {"status": "contacted"}).status_code == 404
    client.force_login(alice)
    page = client.get(url("case-detail", pk=held.pk)).content.decode()
    assert "Held out" in page
