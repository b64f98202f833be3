"""Browser: an admin connects Slack (a local receiver), sends a test message and sees it in the delivery log."""
from __future__ import annotations

import json
import re

from django.test import Client

from tests.browser.conftest import shot


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_connect_slack_send_a_test_message_and_see_it_in_the_log(page, phone_page, live_server, alice, httpserver):
    httpserver.expect_request("/services/T1/B1/secret").respond_with_data("ok")
    log_in(page, live_server, alice)
    page.goto("/app/acme/integrations/")
    page.get_by_role("link", name="Connect Slack").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("#customer-feedback")
    page.get_by_label("Incoming webhook URL").fill(httpserver.url_for("/services/T1/B1/secret"))
    page.get_by_label("Detractors").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/app/acme/integrations/$"))
    assert page.locator("strong", has_text="#customer-feedback").is_visible()
    shot(page, "integrations-list")

    page.get_by_role("button", name="Send test message #customer-feedback").click()
    page.wait_for_url(re.compile(r"/app/acme/integrations/deliveries/$"))
    row = page.locator("tr", has_text="ping")
    assert row.get_by_text("delivered").is_visible()
    assert row.get_by_role("cell", name="200").is_visible()
    shot(page, "integrations-delivery-log")
    [entry] = httpserver.log
    assert "connected" in json.loads(entry[0].get_data())["text"]

    log_in(phone_page, live_server, alice)
    phone_page.goto("/app/acme/integrations/deliveries/")
    assert phone_page.get_by_role("heading", name="Delivery log").is_visible()
    shot(phone_page, "integrations-delivery-log-phone")
