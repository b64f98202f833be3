"""Report periods: whole days in the account's time zone, and the period before them."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PRESETS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PRESET = "90d"


@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` inclusive, counted in the account's time zone."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (a calendar month gives the month before)."""
        if self.start.day == 1 and self.end == month_end(self.start):
            prev_end = self.start - timedelta(days=1)
            return Period(prev_end.replace(day=1), prev_end)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: midnight to midnight in the account's time zone."""
        return (datetime.combine(self.start, time.min, tzinfo=tz),
                datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz))

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    return Period(first, month_end(first))


def parse_period(params: dict, *, today: date) -> tuple[Period, str]:
    """The period from query parameters: ``period`` preset (7d/30d/90d/365d) or ``start``/``end`` dates."""
    start, end = params.get("start"), params.get("end")
    if start or end:
        try:
            first = date.fromisoformat(start) if start else today - timedelta(days=89)
            last = date.fromisoformat(end) if end else today
        except ValueError:
            raise ValidationError({"start": _("Use dates like 2026-01-31.")}) from None
        if first > last:
            raise ValidationError({"start": _("The start must not be after the end.")})
        if (last - first).days > 3 * 366:
            raise ValidationError({"start": _("Choose at most three years.")})
        return Period(first, last), "custom"
    preset = params.get("period") or DEFAULT_PRESET
    if preset not in PRESETS:
        preset = DEFAULT_PRESET
    return Period(today - timedelta(days=PRESETS[preset] - 1), today), preset


def first_working_day(year: int, month: int) -> date:
    """The first Monday-to-Friday day of a month (public holidays are not known here)."""
    day = date(year, month, 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
