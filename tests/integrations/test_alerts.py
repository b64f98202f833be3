"""Alert rules: conditions, who (members, addresses, routing table) and how (email, Slack)."""
from __future__ import annotations

import json

from django.urls import reverse

from accounts.scoping import account_scope
from integrations import services
from integrations.models import AlertRoute, AlertRule
from tests.factories import AlertRuleFactory


def test_a_low_score_alerts_the_store_manager_from_the_routing_table(acme, alice, survey, record, smtp_sink):
    with account_scope(acme):
        services.create_alert_route(account=acme, property_name="store", property_value="Paris",
                                    email="paris@acme.example")
        services.create_alert_route(account=acme, property_name="store", property_value="Lyon",
                                    email="lyon@acme.example")
        services.create_alert_rule(account=acme, name="Detractors", filters={"max_score": 6},
                                   routing_property="store", members=[alice])
    record(survey, 9, properties={"store": "Paris"})  # not a detractor: no alert
    record(survey, 4, comment="Rude staff", properties={"store": "Paris"}, name="Dana")
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["alice@acme.example", "paris@acme.example"]
    body = messages[0].get_content()
    assert "Score: 4" in body and "Rude staff" in body and "/app/acme/responses/" in body
    assert "[Detractors] 4 from Dana" in messages[0]["Subject"]


def test_conditions_score_group_survey_property_and_comment_contains(acme, survey, record, smtp_sink):
    with account_scope(acme):
        services.create_alert_rule(account=acme, name="Refunds", filters={"comment_contains": "refund"},
                                   emails="billing@acme.example")
        services.create_alert_rule(account=acme, name="VIP promoters",
                                   filters={"score_groups": ["promoter"], "survey_ids": [survey.pk],
                                            "property_key": "tier", "property_value": "vip"},
                                   emails=["vip@acme.example"])
    record(survey, 2, comment="I want a REFUND")
    record(survey, 10, properties={"tier": "vip"})
    record(survey, 10, properties={"tier": "basic"})
    record(survey, 5, comment="meh")
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["billing@acme.example", "vip@acme.example"]
    assert len(smtp_sink.messages) == 2


def test_an_alert_can_post_to_slack(acme, survey, record, httpserver):
    httpserver.expect_request("/alerts").respond_with_data("ok")
    with account_scope(acme):
        slack = services.connect_slack(account=acme, name="#alerts", webhook_url=httpserver.url_for("/alerts"),
                                       filters={"score_groups": ["promoter"]})
        services.create_alert_rule(account=acme, name="Angry", filters={"max_score": 3}, send_email=False,
                                   slack=slack)
    record(survey, 1, comment="awful")
    [entry] = httpserver.log
    assert json.loads(entry[0].get_data())["text"].startswith("Alert: Angry: 1 (detractor)")


def test_an_alert_is_sent_once_per_response_even_when_it_is_updated(acme, survey, record, smtp_sink,
                                                                   django_capture_on_commit_callbacks):
    from accounts.events import emit_event

    with account_scope(acme):
        services.create_alert_rule(account=acme, name="Low", filters={"max_score": 6}, emails=["cx@acme.example"])
    response = record(survey, 3)
    with account_scope(acme), django_capture_on_commit_callbacks(execute=True):
        emit_event(acme, "response.updated", {"response_id": response.pk})
    smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1


def test_an_admin_creates_a_rule_and_a_route_from_the_pages(client, alice, acme, carol):
    client.force_login(alice)
    page = client.post(reverse("integrations:alertrule-create", kwargs={"account": "acme"}),
                       {"name": "Detractors", "max_score": "6", "members": [str(carol.pk)],
                        "emails": "a@acme.example, b@acme.example", "routing_property": "store",
                        "send_email": "on"})
    assert page.status_code == 302
    page = client.post(reverse("integrations:alertroute-list", kwargs={"account": "acme"}),
                       {"property_name": "store", "property_value": "Paris", "email": "paris@acme.example"})
    assert page.status_code == 302
    with account_scope(acme):
        rule = AlertRule.objects.get()
        assert rule.filters == {"max_score": 6}
        assert rule.emails == ["a@acme.example", "b@acme.example"]
        assert list(rule.members.all()) == [carol]
        assert AlertRoute.objects.get().email == "paris@acme.example"


def test_a_rule_without_recipients_is_refused(client, alice):
    client.force_login(alice)
    page = client.post(reverse("integrations:alertrule-create", kwargs={"account": "acme"}),
                       {"name": "Nobody", "max_score": "6"})
    assert page.status_code == 400
    assert page.context["form"].errors


def test_mallory_cannot_delete_acme_rules(client, mallory, acme):
    with account_scope(acme):
        rule = AlertRuleFactory(account=acme)
    client.force_login(mallory)
    for slug in ("acme", "globex"):
        assert client.post(reverse("integrations:alertrule-delete",
                                   kwargs={"account": slug, "pk": rule.pk})).status_code == 404
    with account_scope(acme):
        assert AlertRule.objects.filter(pk=rule.pk).exists()
