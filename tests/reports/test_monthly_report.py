"""The monthly stakeholder report: schedule in the account's time zone, one email per recipient with a PDF."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from accounts.scoping import account_scope, cross_account
from reports import services
from reports.models import MonthlyReport, ReportRecipient
from tests.reports.conftest import answer


@pytest.fixture
def january(acme, nps_survey):
    """Helsinki account with answers in December and January 2026 and two recipients."""
    acme.time_zone = "Europe/Helsinki"
    acme.save()
    nps_survey.account.refresh_from_db()
    for day, score, comment in [(3, 10, "Friendly support"), (5, 2, "Billing error again"),
                                (9, 3, "Billing error, nobody called"), (12, 9, "Fast"), (20, 6, "Slow app")]:
        answer(nps_survey, score, at=datetime(2026, 1, day, 10, tzinfo=UTC), comment=comment,
               properties={"channel": "chat" if score < 7 else "phone"})
    answer(nps_survey, 10, at=datetime(2025, 12, 10, 10, tzinfo=UTC), properties={"channel": "phone"})
    return nps_survey


def add_recipients(acme, alice):
    with account_scope(acme):
        ReportRecipient.objects.create(account=acme, user=alice)
        ReportRecipient.objects.create(account=acme, email="board@acme.example")


def pdf_of(message) -> PdfReader:
    attachment = next(p for p in message.iter_attachments() if p.get_content_type() == "application/pdf")
    data = attachment.get_content()
    assert data.startswith(b"%PDF")
    return PdfReader(io.BytesIO(data))


def test_the_report_is_due_on_the_first_working_day_in_the_account_time_zone(acme, alice, globex, january):
    add_recipients(acme, alice)
    with cross_account():
        ReportRecipient.objects.create(account=globex, email="ceo@globex.example")
    globex.time_zone = "America/Los_Angeles"
    globex.save()
    # 1 February 2026 is a Sunday: the first working day is Monday 2 February.
    assert services.queue_due_monthly_reports(now=datetime(2026, 2, 1, 12, tzinfo=UTC)) == []
    # 03:30 UTC = 05:30 in Helsinki: too early.
    assert services.queue_due_monthly_reports(now=datetime(2026, 2, 2, 3, 30, tzinfo=UTC)) == []
    # 04:30 UTC = 06:30 in Helsinki, still Sunday 1 February 20:30 in Los Angeles.
    queued = services.queue_due_monthly_reports(now=datetime(2026, 2, 2, 4, 30, tzinfo=UTC))
    with cross_account():
        assert [MonthlyReport.objects.get(pk=pk).account for pk in queued] == [acme]
        assert MonthlyReport.objects.get(pk=queued[0]).month == date(2026, 1, 1)
    # Later that day Los Angeles reaches its first working day too. Helsinki's row is still pending
    # (no task ran in this test), so it is queued again: the task's claim keeps the send single.
    later = services.queue_due_monthly_reports(now=datetime(2026, 2, 2, 15, tzinfo=UTC))
    with cross_account():
        assert MonthlyReport.objects.filter(account=globex, month=date(2026, 1, 1)).exists()
        assert MonthlyReport.objects.count() == 2
    assert len(later) == 2


def test_the_monthly_task_sends_one_email_per_recipient_with_a_valid_pdf(
        acme, alice, january, smtp_sink, django_capture_on_commit_callbacks):
    add_recipients(acme, alice)
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.queue_due_monthly_reports(now=datetime(2026, 2, 2, 9, tzinfo=UTC))
    assert len(queued) == 1
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["alice@acme.example", "board@acme.example"]
    for message in messages:
        assert "January 2026" in message["Subject"]
        html = message.get_body(("html",)).get_content()
        assert "cid:trend" in html and "billing error" in html
        assert any(p.get_content_type() == "image/png" for p in message.walk())
        reader = pdf_of(message)
        assert len(reader.pages) >= 1
        text = "".join(page.extract_text() for page in reader.pages)
        assert "Acme" in text and "billing error" in text
    with account_scope(acme):
        report = MonthlyReport.objects.get(pk=queued[0])
    assert report.status == MonthlyReport.Status.SENT and len(report.sent_to) == 2
    # The next beat run in the same month sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.queue_due_monthly_reports(now=datetime(2026, 2, 3, 9, tzinfo=UTC)) == []
    with account_scope(acme):  # a duplicate task finds nothing to claim
        assert services.send_monthly_report(report_id=report.pk) == 0
    assert len(smtp_sink.messages) == 2


@pytest.mark.worker
def test_a_real_worker_sends_the_monthly_report(celery_worker, smtp_sink, acme, alice, january):
    add_recipients(acme, alice)
    queued = services.queue_due_monthly_reports(now=datetime(2026, 2, 2, 9, tzinfo=UTC))
    messages = smtp_sink.wait_for(2, timeout=90)
    assert sorted(m["To"] for m in messages) == ["alice@acme.example", "board@acme.example"]
    assert len(pdf_of(messages[0]).pages) >= 1
    with account_scope(acme):
        assert MonthlyReport.objects.get(pk=queued[0]).sent_to


def test_a_member_reads_the_report_at_a_stable_url_and_downloads_the_pdf(client, carol, acme, january):
    with account_scope(acme):
        report = services.ensure_monthly_report(account=acme, month=date(2026, 1, 1))
    client.force_login(carol)
    page = client.get(report.get_absolute_url())
    assert page.status_code == 200
    assert "feedback in January 2026" in page.content.decode() and "<svg" in page.content.decode()
    pdf = client.get(f"/app/acme/reports/monthly/{report.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_send_me_a_preview_now_mails_only_me(client, carol, acme, alice, january, smtp_sink):
    add_recipients(acme, alice)
    client.force_login(carol)
    response = client.post("/app/acme/reports/monthly/preview/")
    assert response.status_code == 302
    messages = smtp_sink.wait_for(1)
    assert len(messages) == 1 and messages[0]["To"] == "carol@acme.example"
    assert messages[0]["Subject"].startswith("[Preview]")
    with account_scope(acme):
        assert not MonthlyReport.objects.exists()


def test_an_admin_chooses_recipients_a_viewer_or_member_cannot(client, alice, bob, carol, acme):
    client.force_login(alice)
    assert client.post("/app/acme/reports/monthly/recipients/", {"email": "Board@Acme.example"}).status_code == 302
    assert client.post("/app/acme/reports/monthly/recipients/", {"user": bob.pk}).status_code == 302
    with account_scope(acme):
        assert sorted(r.address for r in ReportRecipient.objects.all()) == ["board@acme.example",
                                                                            "bob@acme.example"]
        board = ReportRecipient.objects.get(email="board@acme.example")
    client.force_login(bob)
    assert client.get("/app/acme/reports/monthly/").status_code == 200
    assert client.post("/app/acme/reports/monthly/recipients/", {"email": "x@example.com"}).status_code == 403
    client.force_login(carol)
    assert client.post("/app/acme/reports/monthly/recipients/", {"email": "x@example.com"}).status_code == 403
    assert client.post(f"/app/acme/reports/monthly/recipients/{board.pk}/delete/").status_code == 403
    with account_scope(acme):
        assert ReportRecipient.objects.count() == 2


def test_a_bad_recipient_address_is_refused_with_a_message(client, alice, acme):
    client.force_login(alice)
    page = client.post("/app/acme/reports/monthly/recipients/", {"email": "not-an-address"}, follow=True)
    assert "Enter a valid email address." in page.content.decode()
    with account_scope(acme):
        assert not ReportRecipient.objects.exists()


def test_mallory_cannot_read_or_change_acme_reports(client, mallory, acme, alice, january):
    add_recipients(acme, alice)
    with account_scope(acme):
        report = services.ensure_monthly_report(account=acme, month=date(2026, 1, 1))
        recipient = ReportRecipient.objects.first()
    client.force_login(mallory)
    assert client.get(report.get_absolute_url()).status_code == 404
    assert client.get(report.get_absolute_url().replace("/acme/", "/globex/")).status_code == 404
    assert client.post(f"/app/globex/reports/monthly/recipients/{recipient.pk}/delete/").status_code == 404
    with account_scope(acme):
        assert ReportRecipient.objects.count() == 2
