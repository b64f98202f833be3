"""Browser: an admin creates a survey, imports a CSV that sends it, and the emails reach the sink."""
from __future__ import annotations

import io
import re

from django.core.management import call_command
from django.test import Client

from accounts.scoping import account_scope
from tests.browser.conftest import shot


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_create_a_survey_and_send_it_to_an_imported_csv(page, phone_page, live_server, alice, acme, smtp_sink,
                                                        tmp_path):
    log_in(page, live_server, alice)
    page.goto("/app/acme/surveys/")
    page.get_by_role("link", name="New survey").click()
    page.get_by_label("Name").fill("Support follow-up")
    page.get_by_label("Kind").select_option("ces")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/app/acme/surveys/\d+/$"))
    assert page.get_by_role("heading", name=re.compile("Support follow-up")).is_visible()
    shot(page, "survey-detail")

    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("email,name,plan\nann@example.com,Ann,pro\nbob@example.com,Bob,free\nnot-an-email,X,pro\n")
    page.goto("/app/acme/surveys/people/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_role("cell", name="ann@example.com").is_visible()  # the preview
    page.get_by_label("Then send this survey to everyone imported").select_option(label="Support follow-up")
    shot(page, "import-mapping")
    page.get_by_role("button", name="Start the import").click()
    status = page.get_by_test_id("import-status")
    status.get_by_text("Done").wait_for()
    assert page.get_by_role("cell", name="invalid email address not-an-email").is_visible()
    shot(page, "import-done")

    call_command("dispatch", "--once", stdout=io.StringIO())
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["ann@example.com", "bob@example.com"]
    assert all("/r/" in m.get_body(("html",)).get_content() for m in messages)

    page.goto("/app/acme/surveys/invitations/?status=sent")
    assert page.get_by_role("cell", name="Bob").is_visible() or page.get_by_text("Bob").first.is_visible()
    with account_scope(acme):
        assert acme.invitations.filter(status="sent").count() == 2

    log_in(phone_page, live_server, alice)
    phone_page.goto("/app/acme/surveys/people/")
    assert phone_page.get_by_role("heading", name="People").is_visible()
    shot(phone_page, "people-phone")
