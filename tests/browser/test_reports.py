"""The demo account's dashboards in real Chromium: change period and segment, download a CSV."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from reports.demo import DEMO_EMAIL, load_demo
from tests.browser.conftest import shot


@pytest.fixture
def demo_login(transactional_db, live_server):
    load_demo(people=80, days=120)
    client = Client()
    client.force_login(get_user_model().objects.get(email=DEMO_EMAIL))
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]


def test_the_demo_dashboard_changes_period_and_segment_and_downloads_a_csv(page, demo_login):
    page.context.add_cookies(demo_login)
    page.goto("/app/demo/reports/")
    assert page.get_by_role("heading", name="Reports", exact=True).is_visible()
    assert page.get_by_test_id("headline-value").first.inner_text() not in ("", "–")
    shot(page, "reports-overview")

    page.get_by_label("Period").select_option("30d")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"period=30d"))
    assert "Last 30 days" in page.get_by_label("Period").evaluate("s => s.options[s.selectedIndex].text")
    shot(page, "reports-overview-30-days")

    page.get_by_role("link", name="Segments").click()
    page.get_by_label("Break down by").select_option("agent")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"segment=agent"))
    table = page.get_by_test_id("segment-table")
    assert table.get_by_role("rowheader", name="anna").is_visible()
    shot(page, "reports-segments-by-agent")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").first.click()
    path = Path(info.value.path())
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "Segment" and {r[0] for r in rows[1:]} >= {"anna", "ben"}


def test_the_dashboard_fits_a_phone(phone_page, demo_login):
    phone_page.context.add_cookies(demo_login)
    phone_page.goto("/app/demo/reports/?period=90d")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1
    shot(phone_page, "reports-overview-phone")


def test_the_monthly_report_reads_in_the_browser(page, demo_login):
    page.context.add_cookies(demo_login)
    page.goto("/app/demo/reports/monthly/")
    page.get_by_role("link", name="Open the report for").click()
    assert page.get_by_role("heading", name="Where we stand").is_visible()
    assert page.get_by_role("heading", name="Top detractor issues").is_visible()
    shot(page, "reports-monthly-report")
