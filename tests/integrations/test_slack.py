"""Slack: Block Kit message with fallback, escaping, filters, pacing, 429 and channel errors."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone
from werkzeug import Response as WerkzeugResponse

from accounts.scoping import account_scope
from integrations import services
from integrations.models import Delivery, SlackIntegration
from tests.factories import SlackIntegrationFactory
from tests.integrations.conftest import deliveries


def connect(account, httpserver, path="/services/T1/B1/xyz", **filters):
    with account_scope(account):
        return services.connect_slack(account=account, name="#feedback", webhook_url=httpserver.url_for(path),
                                      filters=filters)


def posted(httpserver) -> list[dict]:
    return [json.loads(entry[0].get_data()) for entry in httpserver.log]


def test_a_response_posts_blocks_with_score_person_survey_links_and_a_fallback(acme, survey, record, httpserver):
    connect(acme, httpserver)
    httpserver.expect_request("/services/T1/B1/xyz").respond_with_data("ok")
    response = record(survey, 3, comment="Slow delivery", name="Dana Scully", email="dana@example.com",
                      properties={"store": "Paris"})
    [message] = posted(httpserver)
    text = json.dumps(message["blocks"])
    assert "*3* (detractor)" in text and "Dana Scully (dana@example.com)" in text
    assert "Onboarding NPS" in text and "Slow delivery" in text and "Paris" in text
    buttons = [e for block in message["blocks"] if block["type"] == "actions" for e in block["elements"]]
    assert [b["url"] for b in buttons] == [f"http://localhost:8000/app/acme/responses/{response.pk}/",
                                           f"http://localhost:8000/app/acme/responses/{response.pk}/#follow-up"]
    assert message["text"].startswith("New response: 3 (detractor) from Dana Scully")
    assert message["attachments"][0]["color"] == "#c62828"


def test_a_comment_cannot_inject_slack_markup_and_long_comments_are_truncated(acme, survey, record, httpserver):
    connect(acme, httpserver)
    httpserver.expect_request("/services/T1/B1/xyz").respond_with_data("ok")
    record(survey, 9, comment="<!channel> <https://evil.example|click> & é")
    record(survey, 9, comment="x" * 4_999)
    first, second = posted(httpserver)
    text = json.dumps(first, ensure_ascii=False)
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; é" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    sections = [b["text"]["text"] for b in second["blocks"] if b["type"] == "section" and "text" in b]
    assert max(len(s) for s in sections) <= 3000
    assert any(s.endswith("…") for s in sections)


def test_filters_pick_which_responses_are_posted(acme, survey, record, httpserver):
    connect(acme, httpserver, path="/detractors-with-comment", score_groups=["detractor"], has_comment=True)
    connect(acme, httpserver, path="/paris", property_key="store", property_value="Paris")
    httpserver.expect_request("/detractors-with-comment").respond_with_data("ok")
    httpserver.expect_request("/paris").respond_with_data("ok")
    record(survey, 2, comment="bad")
    record(survey, 2)
    record(survey, 10, comment="great", properties={"store": "Paris"})
    record(survey, 10, properties={"store": "Lyon"})
    paths = [entry[0].path for entry in httpserver.log]
    assert sorted(paths) == ["/detractors-with-comment", "/paris"]


def test_messages_to_one_webhook_are_paced_about_one_per_second(acme, survey, record, httpserver):
    connect(acme, httpserver)
    arrivals = []
    httpserver.expect_request("/services/T1/B1/xyz").respond_with_handler(
        lambda request: arrivals.append(time.monotonic()) or WerkzeugResponse("ok"))
    for score in (1, 5, 9):
        record(survey, score)
    assert len(arrivals) == 3
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps


def test_429_retry_after_is_honoured_and_the_message_is_not_dropped(acme, survey, record, run_sweeper, httpserver):
    connect(acme, httpserver)
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return WerkzeugResponse("rate_limited", status=429, headers={"Retry-After": "30"})
        return WerkzeugResponse("ok")

    httpserver.expect_request("/services/T1/B1/xyz").respond_with_handler(handler)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        record(survey, 4)
    [delivery] = deliveries(acme)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at >= start + timedelta(seconds=30)
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        run_sweeper()
    assert len(calls) == 1  # still waiting out Retry-After
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        run_sweeper()
    [delivery] = deliveries(acme)
    assert delivery.status == Delivery.Status.DELIVERED and len(calls) == 2


def test_an_archived_or_missing_channel_disables_the_integration_and_emails_admins(acme, alice, survey, record,
                                                                                  httpserver, smtp_sink):
    slack = connect(acme, httpserver)
    httpserver.expect_request("/services/T1/B1/xyz").respond_with_data("channel_is_archived", status=410)
    record(survey, 4)
    record(survey, 5)
    with account_scope(acme):
        slack.refresh_from_db()
    assert not slack.is_active and "channel_is_archived" in slack.disabled_reason
    assert len(httpserver.log) == 1
    [mail] = smtp_sink.wait_for(1)
    assert "Slack" in mail["Subject"] and mail["To"] == "alice@acme.example"


def test_slack_channel_not_found_404_also_disables(acme, survey, record, httpserver):
    slack = connect(acme, httpserver)
    httpserver.expect_request("/services/T1/B1/xyz").respond_with_data("channel_not_found", status=404)
    record(survey, 4)
    with account_scope(acme):
        assert not SlackIntegration.objects.get(pk=slack.pk).is_active


def test_an_admin_connects_slack_and_sends_a_test_message(client, alice, httpserver,
                                                          django_capture_on_commit_callbacks):
    httpserver.expect_request("/services/T9/B9/abc").respond_with_data("ok")
    client.force_login(alice)
    page = client.post(reverse("integrations:slackintegration-create", kwargs={"account": "acme"}),
                       {"name": "#cx", "webhook_url": httpserver.url_for("/services/T9/B9/abc")}, follow=True)
    assert b"#cx" in page.content
    slack = page.context["slacks"][0]
    assert httpserver.url_for("/services/T9/B9/abc").encode() not in page.content  # the URL is a secret
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:slackintegration-test", kwargs={"account": "acme", "pk": slack.pk}))
    assert "connected" in posted(httpserver)[0]["text"]


def test_mallory_cannot_test_or_disconnect_acme_slack(client, mallory, acme):
    with account_scope(acme):
        slack = SlackIntegrationFactory(account=acme)
    client.force_login(mallory)
    for name in ("slackintegration-test", "slackintegration-delete", "slackintegration-enable"):
        for slug in ("acme", "globex"):
            url = reverse(f"integrations:{name}", kwargs={"account": slug, "pk": slack.pk})
            assert client.post(url).status_code == 404
    with account_scope(acme):
        assert SlackIntegration.objects.filter(pk=slack.pk).exists()
