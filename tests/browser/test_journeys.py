"""The whole product in one journey, in real Chromium, against a live server shared with a REAL Celery worker.

An admin signs up, creates an NPS survey with an extra question, connects Slack (a local receiver),
imports a CSV of people and sends; the test reads each invitation from the SMTP sink; a respondent
clicks a score and comments; the response shows in the feed, in Slack and on the dashboard; a
stakeholder invited with the viewer role opens the monthly report. Mail sent by the worker (the
invitations, Slack deliveries) and by the live server (the member invitation) lands at the same sink.
Screenshots: .pytest-artifacts/screenshots/journey-*.png.
"""
from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from accounts.models import Account, Membership, Role
from accounts.scoping import account_scope
from responses.models import Response
from surveys.models import Invitation
from surveys.services import run_dispatch_cycle
from tests.browser.conftest import shot

pytestmark = [pytest.mark.worker, pytest.mark.timeout(180)]

PASSWORD = "a-long-enough-passphrase"
SLACK_PATH = "/services/T0/B0/journey"


def wait_until(predicate, what: str, timeout: float = 30):
    """Poll ``predicate`` (a bounded loop) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def score_path(message, score: int) -> str:
    """The ``/r/<token>/<score>`` path of a score link in an invitation email (host set by the worker)."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"(/r/[\w-]+/" + str(score) + r")\b", text)
    assert match, f"no score link for {score} in:\n{text}"
    return match.group(1)


def test_admin_sends_a_survey_a_respondent_answers_and_a_viewer_reads_the_report(
        chromium, page, live_server, celery_worker, smtp_sink, httpserver, tmp_path):
    httpserver.expect_request(SLACK_PATH).respond_with_data("ok")

    # 1. The admin signs up.
    page.goto("/accounts/signup/")
    page.get_by_label("Company name").fill("Umbrella")
    page.get_by_label("Work email").fill("ada@umbrella.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/app/**")
    account = Account.objects.get(name="Umbrella")
    slug = account.slug
    shot(page, "journey-01-signed-up")

    # 2. An NPS survey with an extra question.
    page.goto(f"/app/{slug}/surveys/new/")
    page.get_by_label("Name").fill("Quarterly NPS")
    page.get_by_label("Kind").select_option("nps")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/app/{slug}/surveys/\d+/$"))
    page.get_by_role("link", name=re.compile("Extra questions")).click()
    page.get_by_label("Kind").select_option("text")
    page.get_by_role("textbox", name="Question", exact=True).fill("What should we build next?")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("What should we build next?").first).to_be_visible()
    shot(page, "journey-02-extra-question")

    # 3. Slack: a local receiver connected as an incoming webhook, for every response.
    page.goto(f"/app/{slug}/integrations/")
    page.get_by_role("link", name="Connect Slack").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("#feedback")
    page.get_by_label("Incoming webhook URL").fill(httpserver.url_for(SLACK_PATH))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/app/{slug}/integrations/$"))

    # 4. Import a CSV of people and send the survey to everyone imported (the worker imports).
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name,plan\nrita@customer.example,Rita,pro\nsam@customer.example,Sam,free\n")
    page.goto(f"/app/{slug}/surveys/people/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()
    page.get_by_label("Then send this survey to everyone imported").select_option(label="Quarterly NPS")
    page.get_by_role("button", name="Start the import").click()
    page.get_by_test_id("import-status").get_by_text("Done").wait_for(timeout=30_000)
    shot(page, "journey-03-import-done")

    # 5. The dispatcher (beat's job; called here once the import scheduled them) hands out the
    #    invitations; the real worker sends them to the SMTP sink.
    with account_scope(account):
        wait_until(lambda: account.invitations.filter(status=Invitation.Status.SCHEDULED).count() == 2,
                   "two scheduled invitations")
    assert run_dispatch_cycle() == 2
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["rita@customer.example", "sam@customer.example"]
    rita = next(m for m in messages if m["To"] == "rita@customer.example")

    # 6. The respondent clicks 9 in the email and comments.
    respondent = chromium.new_context(base_url=live_server.url)
    try:
        rpage = respondent.new_page()
        rpage.goto(score_path(rita, 9))
        expect(rpage.get_by_role("status")).to_have_text(re.compile("Your score is saved"))
        rpage.get_by_label("What is the main reason for your score?").fill("Lightning-fast support team")
        rpage.get_by_label("What should we build next?").fill("A mobile app")
        shot(rpage, "journey-04-respondent")
        rpage.get_by_role("button", name="Submit").click()
        expect(rpage.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible()
    finally:
        respondent.close()
    with account_scope(account):
        response = Response.objects.get(survey__name="Quarterly NPS")
    assert (response.score, response.comment) == (9, "Lightning-fast support team")

    # 7. The admin sees it in the feed and on the dashboard.
    page.goto(f"/app/{slug}/responses/")
    expect(page.get_by_text("Lightning-fast support team").first).to_be_visible()
    shot(page, "journey-05-feed")
    page.goto(f"/app/{slug}/reports/")
    shot(page, "journey-06-dashboard")
    row = page.get_by_role("row").filter(has_text="Quarterly NPS")  # one promoter: NPS 100, one response
    expect(row).to_contain_text("100.0")

    # 8. ... and in Slack: the worker delivered the response.created event from the outbox.
    def slack_texts() -> list[str]:
        return [json.loads(request.get_data()).get("text", "") for request, _ in httpserver.log]
    wait_until(lambda: any("Quarterly NPS" in text for text in slack_texts()), "a Slack message")
    [message] = [text for text in slack_texts() if "Quarterly NPS" in text][:1]
    assert "9 (promoter) from Rita (rita@customer.example)" in message, message

    # 9. The admin invites a stakeholder as a viewer; she joins from the emailed link.
    smtp_sink.clear()
    page.goto(f"/app/{slug}/settings/members/")
    page.get_by_label("Email").fill("vera@umbrella.example")
    page.get_by_label("Role").last.select_option(Role.VIEWER)
    page.get_by_role("button", name="Send invitation").click()
    [invite_mail] = smtp_sink.wait_for(1)
    invite_path = re.search(r"(/accounts/invite/[\w\-:.]+)", invite_mail.get_body(("plain",)).get_content()).group(1)
    viewer = chromium.new_context(base_url=live_server.url)
    try:
        vpage = viewer.new_page()
        vpage.goto(invite_path)
        vpage.get_by_label("Choose a password").fill(PASSWORD)
        vpage.get_by_role("button", name="Create log-in and join").click()
        vpage.wait_for_url(re.compile(rf"/app/{slug}/"))
        assert Membership.objects.get(account=account, user__username="vera@umbrella.example").role == Role.VIEWER

        # 10. The viewer opens the monthly report.
        vpage.goto(f"/app/{slug}/reports/monthly/")
        vpage.get_by_role("link", name="Open the report for").click()
        expect(vpage.get_by_role("heading", name="Where we stand")).to_be_visible()
        shot(vpage, "journey-07-viewer-monthly-report")
    finally:
        viewer.close()
