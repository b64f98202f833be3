"""SLA due times: business minutes for detractors (counted from the next opening when they arrive outside
business hours), wall-clock hours for the other groups."""
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


def test_a_detractor_outside_business_hours_is_due_minutes_after_the_next_opening(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    saturday = paris(2026, 11, 28, 11, 0)
    assert due(acme, settings_row, "detractor", saturday) == paris(2026, 11, 30, 9, 5)  # Monday 09:05
    evening = paris(2026, 11, 23, 20, 0)
    assert due(acme, settings_row, "detractor", evening) == paris(2026, 11, 24, 9, 5)
    early = paris(2026, 11, 24, 7, 30)
    assert due(acme, settings_row, "detractor", early) == paris(2026, 11, 24, 9, 5)
    friday_night = paris(2026, 11, 27, 17, 0)  # closing time is already outside
    assert due(acme, settings_row, "detractor", friday_night) == paris(2026, 11, 30, 9, 5)


def test_other_groups_get_wall_clock_hours(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    assert due(acme, settings_row, "passive", paris(2026, 11, 23, 10, 0)) == paris(2026, 11, 24, 10, 0)
    assert due(acme, settings_row, "promoter", paris(2026, 11, 28, 11, 0)) == paris(2026, 11, 29, 11, 0)


def test_a_weekend_detractor_before_the_spring_change_is_due_monday_in_summer_time(acme, settings_row):
    acme.time_zone = "Europe/Paris"
    saturday_night = paris(2026, 3, 28, 23, 0)  # clocks go forward on Sunday 29 March
    assert due(acme, settings_row, "detractor", saturday_night) == datetime(2026, 3, 30, 7, 5, tzinfo=UTC)


def test_a_friday_evening_detractor_in_new_york_across_the_autumn_change(acme, settings_row):
    acme.time_zone = "America/New_York"
    friday = datetime(2026, 10, 30, 18, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))  # EDT, UTC-4
    # US clocks go back on Sunday 1 November: Monday 09:05 is EST, UTC-5
    assert due(acme, settings_row, "detractor", friday) == datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


def test_the_same_instant_is_business_time_in_new_york_but_night_in_tokyo(acme, settings_row):
    instant = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 in New York, 23:00 in Tokyo
    acme.time_zone = "America/New_York"
    assert due(acme, settings_row, "detractor", instant) == datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    acme.time_zone = "Asia/Tokyo"  # 23:00 Monday in Tokyo: due Tuesday 09:05 Tokyo time
    assert due(acme, settings_row, "detractor", instant) == datetime(2026, 11, 24, 9, 5, tzinfo=TOKYO)


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


def test_a_night_detractor_response_opens_a_case_due_after_the_morning_opening(acme, alice, respond, settings_row):
    acme.time_zone = "Europe/Paris"
    acme.save()
    with time_machine.travel(paris(2026, 11, 28, 3, 0), tick=False):  # Saturday night
        case = case_of(respond(2))
    assert case.due_at == paris(2026, 11, 30, 9, 5)
