"""SLA due times: business minutes for detractors in business hours, wall-clock hours otherwise."""
from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time

import time_machine

from accounts.scoping import account_scope
from responses import cases
from tests.cases.conftest import case_of

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def due(acme, settings_row, group: str, start: datetime) -> datetime:
    with account_scope(acme):
        return cases.compute_due_at(account=acme, settings_row=settings_row, group=group, start=start)


def test_a_detractor_in_business_hours_is_due_five_minutes_later(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    assert due(acme, settings_row, "detractor", paris(2026, 11, 23, 10, 0)) == paris(2026, 11, 23, 10, 5)


def test_business_minutes_carry_over_the_weekend(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    friday_late = paris(2026, 11, 27, 16, 58)  # two minutes left on Friday
    assert due(acme, settings_row, "detractor", friday_late) == paris(2026, 11, 30, 9, 3)  # Monday


def test_a_longer_sla_spans_several_business_days(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    settings_row.detractor_sla_minutes = 8 * 60 + 30  # a working day and a half hour
    assert due(acme, settings_row, "detractor", paris(2026, 11, 23, 9, 0)) == paris(2026, 11, 24, 9, 30)


def test_outside_business_hours_and_other_groups_get_wall_clock_hours(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    saturday = paris(2026, 11, 28, 11, 0)
    assert due(acme, settings_row, "detractor", saturday) == paris(2026, 11, 29, 11, 0)
    evening = paris(2026, 11, 23, 20, 0)
    assert due(acme, settings_row, "detractor", evening) == paris(2026, 11, 24, 20, 0)
    assert due(acme, settings_row, "passive", paris(2026, 11, 23, 10, 0)) == paris(2026, 11, 24, 10, 0)


def test_the_same_instant_is_business_time_in_new_york_but_night_in_tokyo(acme, settings_row):
    instant = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 in New York, 23:00 in Tokyo
    acme.time_zone = "America/New_York"
    assert due(acme, settings_row, "detractor", instant) == datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    acme.time_zone = "Asia/Tokyo"
    assert due(acme, settings_row, "detractor", instant) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def test_custom_business_days_and_hours(acme, settings_row):
    acme.time_zone = "Asia/Tokyo"
    settings_row.business_days = [6, 7]  # a weekend team
    settings_row.business_start, settings_row.business_end = time(10, 0), time(12, 0)
    settings_row.detractor_sla_minutes = 150
    start = datetime(2026, 11, 28, 11, 0, tzinfo=TOKYO)  # Saturday 11:00: 60 min today, 90 on Sunday
    assert due(acme, settings_row, "detractor", start) == datetime(2026, 11, 29, 11, 30, tzinfo=TOKYO)


def test_business_minutes_across_a_daylight_saving_change_count_real_minutes(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    settings_row.business_days = [1, 2, 3, 4, 5, 6, 7]
    settings_row.business_start, settings_row.business_end = time(0, 0), time(23, 59)
    settings_row.detractor_sla_minutes = 120
    start = paris(2026, 3, 29, 1, 30)  # clocks jump from 02:00 to 03:00 that night
    assert due(acme, settings_row, "detractor", start) == paris(2026, 3, 29, 4, 30)


def test_a_case_opened_by_a_response_gets_its_due_time(acme, alice, respond, settings_row):
    acme.time_zone = "Europe/Paris"
    acme.save()
    with time_machine.travel(paris(2026, 11, 23, 16, 57), tick=False):
        case = case_of(respond(4))
    assert case.due_at == paris(2026, 11, 24, 9, 2)
