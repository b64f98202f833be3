"""The integrations pages: who sees what, who changes what."""
from __future__ import annotations

from django.urls import reverse

from accounts.scoping import account_scope
from tests.factories import AlertRouteFactory, SlackIntegrationFactory, WebhookEndpointFactory


def test_members_see_the_list_but_not_the_secrets_or_the_log(client, carol, acme):
    with account_scope(acme):
        slack = SlackIntegrationFactory(account=acme, name="#cx")
        endpoint = WebhookEndpointFactory(account=acme, description="CRM")
    client.force_login(carol)
    page = client.get(reverse("integrations:integration-list", kwargs={"account": "acme"}))
    assert page.status_code == 200
    assert b"#cx" in page.content and b"CRM" in page.content
    assert slack.webhook_url.encode() not in page.content
    assert b"Send test message" not in page.content
    assert client.get(reverse("integrations:delivery-list", kwargs={"account": "acme"})).status_code == 403
    assert client.get(reverse("integrations:webhookendpoint-detail",
                              kwargs={"account": "acme", "pk": endpoint.pk})).status_code == 403


def test_an_admin_sees_every_page(client, alice, acme):
    with account_scope(acme):
        AlertRouteFactory(account=acme, property_value="Paris", email="paris@acme.example")
    client.force_login(alice)
    for name in ("integration-list", "slackintegration-create", "webhookendpoint-create", "alertrule-create",
                 "alertroute-list", "delivery-list"):
        assert client.get(reverse(f"integrations:{name}", kwargs={"account": "acme"})).status_code == 200, name
    assert b"paris@acme.example" in client.get(reverse("integrations:alertroute-list",
                                                       kwargs={"account": "acme"})).content


def test_a_viewer_cannot_connect_slack(client, bob):
    client.force_login(bob)
    response = client.post(reverse("integrations:slackintegration-create", kwargs={"account": "acme"}),
                           {"name": "#x", "webhook_url": "https://hooks.slack.com/services/T/B/C"})
    assert response.status_code == 403


def test_mallory_gets_404_for_acme_integration_pages(client, mallory, acme):
    client.force_login(mallory)
    for name in ("integration-list", "delivery-list", "alertroute-list"):
        assert client.get(reverse(f"integrations:{name}", kwargs={"account": "acme"})).status_code == 404
