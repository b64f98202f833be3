"""Case settings pages: GET writes nothing, new accounts start with the default rule, follow-up email rules."""
from __future__ import annotations

from django.urls import reverse

from accounts.scoping import account_scope, cross_account
from accounts.services import create_account
from responses.models import CaseRule, CaseSettings, FollowUpRule
from tests.factories import FollowUpRuleFactory, SurveyFactory, UserFactory


def url(name: str, account: str = "acme", **kwargs) -> str:
    return reverse(f"responses:{name}", kwargs={"account": account, **kwargs})


def counts() -> tuple[int, int]:
    with cross_account():
        return CaseSettings.objects.count(), CaseRule.objects.count()


def test_opening_the_case_settings_page_writes_nothing(client, acme, alice):
    client.force_login(alice)
    before = counts()
    page = client.get(url("casesettings-edit"))
    experiment = client.get(url("case-experiment"))
    assert page.status_code == 200 and experiment.status_code == 200
    assert "No rules: no case is opened." in page.content.decode()
    assert counts() == before


def test_a_new_account_starts_with_the_every_detractor_rule(db):
    account = create_account(name="Initech", owner=UserFactory(username="peter@initech.example"))
    with account_scope(account):
        assert [(r.name, r.score_groups) for r in account.case_rules.all()] == [("Every detractor", ["detractor"])]
        assert CaseSettings.objects.filter(account=account).exists()


def test_an_admin_sets_a_follow_up_email_for_promoters(client, acme, alice):
    with account_scope(acme):
        survey = SurveyFactory(account=acme, name="Support CES")
    client.force_login(alice)
    saved = client.post(url("followuprule-save"), {
        "group": "promoter", "survey": survey.pk, "enabled": "on", "delay_minutes": "15",
        "subject": "Thanks {{name}}", "body": "Would you review us?", "action": "review", "link_text": ""})
    assert saved.status_code == 302
    again = client.post(url("followuprule-save"), {
        "group": "promoter", "survey": survey.pk, "delay_minutes": "45", "subject": "Thanks again",
        "body": "Please review us", "action": "referral"})
    assert again.status_code == 302
    with account_scope(acme):
        rule = acme.follow_up_rules.get()  # saved twice: replaced, not duplicated
        assert (rule.survey, rule.enabled, rule.delay_minutes, rule.action) == (survey, False, 45, "referral")
    page = client.get(url("casesettings-edit")).content.decode()
    assert "Thanks again" in page
    bad = client.post(url("followuprule-save"), {"group": "detractor", "delay_minutes": "-1", "subject": "",
                                                 "body": "x", "action": "review"})
    assert bad.status_code == 400
    assert "This field is required" in bad.content.decode()
    deleted = client.post(url("followuprule-delete", pk=rule.pk))
    assert deleted.status_code == 302
    with account_scope(acme):
        assert not acme.follow_up_rules.exists()


def test_members_cannot_change_follow_up_emails(client, acme, carol):
    client.force_login(carol)
    assert client.post(url("followuprule-save"), {"group": "promoter", "delay_minutes": "0", "subject": "x",
                                                  "body": "y", "action": "review"}).status_code == 403
    with account_scope(acme):
        assert not acme.follow_up_rules.exists()


def test_mallory_cannot_delete_acme_follow_up_emails(client, acme, globex, mallory):
    with cross_account():
        rule = FollowUpRuleFactory(account=acme)
    client.force_login(mallory)
    assert client.post(url("followuprule-delete", pk=rule.pk)).status_code == 404
    assert client.post(url("followuprule-delete", account="globex", pk=rule.pk)).status_code == 404
    with cross_account():
        assert FollowUpRule.objects.filter(pk=rule.pk).exists()
