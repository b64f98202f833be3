"""The reports panel on the account home: each survey's headline for the last 30 days, from the rollups."""
from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from reports import metrics, selectors
from reports.periods import Period

PANEL_DAYS = 30


def headline_panel(request: HttpRequest) -> SafeString | str:
    """Headline, interval and significant change per survey; two queries whatever the data size."""
    account = request.account
    surveys = selectors.surveys_of(account)
    if not surveys:
        return ""
    today = timezone.now().astimezone(account.tz).date()
    period = Period(today - timedelta(days=PANEL_DAYS - 1), today)
    counts = selectors.counts_by_survey(account, surveys, period, period.previous())
    rows = []
    for survey in surveys:
        now, before = counts[survey.pk]
        current, previous = metrics.headline(survey.kind, now), metrics.headline(survey.kind, before)
        rows.append({"survey": survey, "headline": current, "change": metrics.headline_change(previous, current)})
    if not any(row["headline"].total for row in rows):
        return ""
    return render_to_string("reports/_dashboard_panel.html", {"rows": rows, "days": PANEL_DAYS,
                                                               "account": account}, request=request)
