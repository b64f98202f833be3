"""The monthly stakeholder report: what it says (context), as HTML (page and email) and as PDF."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.apps import apps
from django.template.loader import render_to_string

from accounts.models import Account
from reports import charts, metrics, selectors, themes
from reports.periods import Period, month_period
from surveys.models import SurveyKind


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


@dataclass
class SurveySummary:
    survey: object
    headline: metrics.Headline
    previous: metrics.Headline
    change: metrics.Change
    resolution: metrics.Proportion | None
    mean: float | None


def main_survey(surveys: list):
    """The survey the report leads with: the default one, else the first NPS survey, else the first."""
    return next((s for s in surveys if s.is_default), None) or next(
        (s for s in surveys if s.kind == SurveyKind.NPS), None) or (surveys[0] if surveys else None)


def follow_up_actions(account: Account, period: Period) -> dict | None:
    """Cases opened and closed in the month, when the close-the-loop app provides a Case model."""
    try:
        case_model = apps.get_model("responses", "Case")
    except LookupError:
        return None
    start, end = period.bounds(account.tz)
    fields = {f.name for f in case_model._meta.get_fields()}
    opened = case_model.objects.filter(account=account, created_at__gte=start, created_at__lt=end).count()
    closed = (case_model.objects.filter(account=account, closed_at__gte=start, closed_at__lt=end).count()
              if "closed_at" in fields else None)
    return {"opened": opened, "closed": closed}


def build_report(account: Account, month: date) -> dict:
    """Everything the report shows for one calendar month (``month`` is its first day)."""
    period = month_period(month.year, month.month)
    surveys = selectors.surveys_of(account)
    summaries = []
    for survey in surveys:
        scope = selectors.Scope(account, (survey,), period)
        now, before = selectors.score_counts(scope), selectors.score_counts(scope.with_period(period.previous()))
        h1, h0 = metrics.headline(survey.kind, now), metrics.headline(survey.kind, before)
        summaries.append(SurveySummary(survey, h1, h0, metrics.headline_change(h0, h1),
                                       selectors.resolution_rate(scope), metrics.mean_score(now).value))
    lead = main_survey(surveys)
    trend_points, drivers, theme_groups, volume, rate = [], [], {}, 0, None
    if lead is not None:
        year_start = date(month.year - 1, month.month, 1) if month.month == 12 else date(month.year - 1,
                                                                                          month.month + 1, 1)
        year = Period(year_start, period.end)
        for bucket, counts in selectors.trend(selectors.Scope(account, (lead,), year), bucket="month"):
            h = metrics.headline(lead.kind, counts)
            trend_points.append(charts.Point(bucket.strftime("%b %y"), h.value, h.low, h.high))
        lead_scope = selectors.Scope(account, (lead,), period)
        drivers = [row for row in selectors.segment_table(lead_scope, "channel") if row.driver][:3]
        all_scope = selectors.Scope(account, tuple(surveys), period)
        rows = ((r.locale, r.survey.group_of(r.score), r.comment) for r in
                selectors.raw_responses(all_scope).exclude(comment="").select_related("survey")[:5000])
        theme_groups = themes.themes_by_language(rows, limit=5)
        volume = sum(s.headline.total for s in summaries)
        rate = selectors.response_rate(all_scope)
    floor, ceiling = (-100, 100) if lead is not None and lead.kind == SurveyKind.NPS else (None, None)
    return {
        "account": account, "month": month, "period": period, "summaries": summaries, "lead": lead,
        "trend_points": trend_points,
        "trend_svg": charts.line_chart(trend_points, title=f"{lead} – 12 months", floor=floor, ceiling=ceiling)
        if lead else "",
        "trend_floor": floor, "trend_ceiling": ceiling,
        "drivers": drivers, "themes": theme_groups, "volume": volume, "response_rate": rate,
        "actions": follow_up_actions(account, period),
    }


def render_html(report: dict, *, mode: str, url: str = "") -> str:
    """``mode``: "page" (browser), "email" (trend chart as cid:trend PNG) or "pdf" (inline SVG)."""
    return render_to_string("reports/monthly_report_document.html", {**report, "mode": mode, "url": url})


def render_pdf(report: dict, *, base_url: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(report, mode="pdf"), base_url=base_url).write_pdf()


def trend_png(report: dict) -> bytes:
    return charts.line_chart_png(report["trend_points"], floor=report["trend_floor"], ceiling=report["trend_ceiling"])
