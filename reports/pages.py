"""What each report page shows: charts and the plain table behind each (the CSV export is that table)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Account
from reports import agent_selectors, charts, metrics, selectors, themes
from reports.cache import cached_panel
from reports.monthly import main_survey
from reports.periods import Period, parse_period
from surveys.models import SurveyKind

CHARTS = ("surveys", "trend", "distribution", "segments", "themes", "agents")


@dataclass
class Table:
    header: list[str]
    rows: list[list] = field(default_factory=list)


@dataclass
class Params:
    """The parsed query string shared by all report pages."""

    survey: object
    surveys: list
    period: Period
    preset: str
    bucket: str
    filter_key: str
    filter_value: str
    segment_key: str
    keys: list[str]

    def scope(self, account: Account) -> selectors.Scope:
        filters = ((self.filter_key, self.filter_value),) if self.filter_key and self.filter_value else ()
        return selectors.Scope(account, (self.survey,) if self.survey else (), self.period, filters)

    def query(self) -> dict:
        out = {"survey": self.survey.pk if self.survey else "", "bucket": self.bucket, "segment": self.segment_key}
        if self.preset == "custom":
            out.update(start=self.period.start.isoformat(), end=self.period.end.isoformat())
        else:
            out["period"] = self.preset
        if self.filter_key and self.filter_value:
            out.update(filter_key=self.filter_key, filter_value=self.filter_value)
        return out


def parse_params(account: Account, params: dict, *, today: date) -> Params:
    """Parse the report query string; an unknown survey id is a 400, never another account's survey."""
    surveys = selectors.surveys_of(account)
    survey = main_survey(surveys)
    if params.get("survey"):
        survey = next((s for s in surveys if str(s.pk) == str(params["survey"])), None)
        if survey is None:
            raise ValidationError({"survey": _("No such survey.")})
    period, preset = parse_period(params, today=today)
    bucket = params.get("bucket") if params.get("bucket") in ("week", "month") else (
        "week" if period.days <= 120 else "month")
    keys = cached_panel(account, "keys", (), lambda: selectors.property_keys(account))
    segment_key = params.get("segment") if params.get("segment") in keys else (keys[0] if keys else "source")
    filter_key = params.get("filter_key") if params.get("filter_key") in keys else ""
    return Params(survey, surveys, period, preset, bucket, filter_key, (params.get("filter_value") or "")[:200],
                  segment_key, keys)


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _floor(kind: str) -> tuple[float | None, float | None]:
    return (-100, 100) if kind in (SurveyKind.NPS, SurveyKind.CUSTOM) else (0, 100) if kind in ("ces", "csat") \
        else (None, None)


def _panel_parts(p: Params, *extra: object) -> tuple:
    """What a cached panel depends on besides the rollups (reports.cache adds the account and its version)."""
    return (get_language(), p.survey.pk if p.survey else None, [(s.pk, s.kind, s.name) for s in p.surveys],
            p.period.start, p.period.end, p.bucket, p.filter_key, p.filter_value, *extra)


def overview(account: Account, p: Params) -> dict:
    """The overview panels, cached until the account's rollups change (``reports.cache``)."""
    return cached_panel(account, "overview", _panel_parts(p), lambda: build_overview(account, p))


def build_overview(account: Account, p: Params) -> dict:
    """Headline of the chosen survey vs the previous period, trend, distribution, and all surveys side by side."""
    across = Table([_("Survey"), _("Metric"), _("Responses"), _("Value"), _("95% low"), _("95% high"),
                    _("Previous"), _("Change"), _("Significant"), _("Response rate %")])
    summaries = []
    filters = p.scope(account).filters
    grouped = {} if filters else selectors.counts_by_survey(account, p.surveys, p.period, p.period.previous())
    rates = selectors.response_rates(account, p.surveys, p.period, filters)
    for survey in p.surveys:
        if filters:
            scope = selectors.Scope(account, (survey,), p.period, filters)
            now_counts = selectors.score_counts(scope)
            before_counts = selectors.score_counts(scope.with_period(p.period.previous()))
        else:
            now_counts, before_counts = grouped[survey.pk]
        h1, h0 = metrics.headline(survey.kind, now_counts), metrics.headline(survey.kind, before_counts)
        change, rate = metrics.headline_change(h0, h1), rates[survey.pk]
        summaries.append({"survey": survey, "now": h1, "before": h0, "change": change, "rate": rate})
        across.rows.append([survey.name, h1.label, h1.total, _num(h1.value), _num(h1.low), _num(h1.high),
                            _num(h0.value), _num(change.delta), "yes" if change.significant else "no",
                            _num(rate.percent)])
    out = {"summaries": summaries, "tables": {"surveys": across}}
    if p.survey is None:
        return out
    scope = p.scope(account)
    kind = p.survey.kind
    counts, before = grouped[p.survey.pk] if not filters else (
        selectors.score_counts(scope), selectors.score_counts(scope.with_period(p.period.previous())))
    h1, h0 = metrics.headline(kind, counts), metrics.headline(kind, before)
    trend_table = Table([_("Period starting"), _("Responses"), h1.label, _("95% low"), _("95% high"),
                         _("Promoters"), _("Passives"), _("Detractors")])
    points = []
    for bucket, c in selectors.trend(scope, bucket=p.bucket):
        h = metrics.headline(kind, c)
        label = bucket.strftime("%b %y") if p.bucket == "month" else bucket.strftime("%d %b")
        points.append(charts.Point(label, h.value, h.low, h.high))
        trend_table.rows.append([bucket.isoformat(), h.total, _num(h.value), _num(h.low), _num(h.high),
                                 h.groups["promoter"], h.groups["passive"], h.groups["detractor"]])
    dist = Table([_("Score"), _("Responses"), _("Share %")])
    total = sum(counts) or 1
    bars = []
    for score in p.survey.scores:
        n = counts[score] if 0 <= score <= 10 else 0
        dist.rows.append([score, n, _num(100 * n / total)])
        bars.append((str(score), n, charts.GROUP_COLOURS[p.survey.group_of(score)]))
    floor, ceiling = _floor(kind)
    out.update({
        "now": h1, "before": h0, "change": metrics.headline_change(h0, h1),
        "rate": rates[p.survey.pk], "resolution": selectors.resolution_rate(scope),
        "mean": metrics.mean_score(counts),
        "trend_svg": charts.line_chart(points, title=_("%(metric)s by %(bucket)s") % {
            "metric": h1.label, "bucket": p.bucket}, floor=floor, ceiling=ceiling),
        "dist_svg": charts.bar_chart(bars, title=_("Distribution of scores")),
    })
    out["tables"].update({"trend": trend_table, "distribution": dist})
    return out


def segments(account: Account, p: Params) -> dict:
    """The segments panels, cached until the account's rollups change (``reports.cache``)."""
    return cached_panel(account, "segments", _panel_parts(p, p.segment_key), lambda: build_segments(account, p))


def build_segments(account: Account, p: Params) -> dict:
    """Breakdown by a property, sorted by impact on the change vs the previous period, with drivers in words."""
    table = Table([_("Segment"), _("Responses"), _("Value"), _("95% low"), _("95% high"), _("Previous"),
                   _("Change"), _("Significant"), _("Rate effect"), _("Mix effect"), _("Impact"),
                   _("Resolution rate %"), _("Response rate %")])
    if p.survey is None:
        return {"rows": [], "tables": {"segments": table}}
    scope = p.scope(account)
    rows = selectors.segment_table(scope, p.segment_key)
    for r in rows:
        d = r.driver
        table.rows.append([r.segment, r.headline.total, _num(r.headline.value), _num(r.headline.low),
                           _num(r.headline.high), _num(r.previous.value), _num(r.change.delta),
                           "yes" if r.change.significant else "no", _num(d.rate if d else None),
                           _num(d.mix if d else None), _num(d.total if d else None),
                           _num(r.resolution.percent if r.resolution else None),
                           _num(r.response_rate.percent if r.response_rate else None)])
    overall_now = metrics.headline(p.survey.kind, selectors.score_counts(scope))
    overall_before = metrics.headline(p.survey.kind, selectors.score_counts(scope.with_period(p.period.previous())))
    bars = [(r.segment, round(r.headline.value or 0, 1), charts.BRAND) for r in rows if r.headline.total][:12]
    return {
        "rows": rows, "tables": {"segments": table},
        "overall_now": overall_now, "overall_before": overall_before,
        "overall_change": metrics.headline_change(overall_before, overall_now),
        "movers": [r for r in rows if r.driver and abs(r.driver.total) >= 0.05][:5],
        "bars_svg": charts.bar_chart(bars, title=_("%(metric)s by %(key)s") % {
            "metric": overall_now.label, "key": p.segment_key}),
    }


def theme_page(account: Account, p: Params) -> dict:
    scope = selectors.Scope(account, tuple(p.surveys), p.period, p.scope(account).filters)
    rows = ((r.locale, r.survey.group_of(r.score), r.comment) for r in
            selectors.raw_responses(scope).exclude(comment="").select_related("survey")[:20000])
    by_language = themes.themes_by_language(rows)
    table = Table([_("Language"), _("Phrase"), _("Detractor comments"), _("Promoter comments"), _("Score (z)"),
                   _("Example")])
    for locale, items in by_language.items():
        for t in items:
            table.rows.append([locale, t.phrase, t.detractor_count, t.promoter_count, _num(t.z, 2),
                               t.examples[0] if t.examples else ""])
    return {"themes": by_language, "tables": {"themes": table}}


def agents(account: Account, p: Params) -> dict:
    scope = selectors.Scope(account, tuple(p.surveys), p.period, p.scope(account).filters)
    cards = agent_selectors.agent_scorecards(scope)
    surveys = [s for s in p.surveys if any(s.pk in c["scores"] or s.pk in c["self"] for c in cards)]
    self_surveys = [s for s in surveys if any(s.pk in c["self"] for c in cards)]
    table = Table([_("Agent"), _("Responses")] + [f"{s.name} ({metrics.headline(s.kind, [0] * 11).label})"
                                                   for s in surveys] + [_("Resolution rate %")]
                  + [column % {"survey": s.name} for s in self_surveys
                     for column in (_("%(survey)s: self-assessed mean"), _("%(survey)s: customers' mean"),
                                    _("%(survey)s: gap (self - customers)"), _("%(survey)s: self-assessments"),
                                    _("%(survey)s: matched interactions"),
                                    _("%(survey)s: matched gap (self - customer, per interaction)"))])
    for card in cards:
        card["cells"] = [card["scores"].get(s.pk) for s in surveys]
        card["self_cells"] = [card["self"].get(s.pk) for s in self_surveys]
        table.rows.append([card["agent"], card["responses"]]
                          + [_num(h.value) if h else "" for h in card["cells"]]
                          + [_num(card["resolution"].percent) if card["resolution"] else ""]
                          + [value for c in card["self_cells"] for value in (
                              (_num(c.self_mean.value, 2), _num(c.customer_mean, 2), _num(c.gap, 2),
                               c.self_mean.total, len(c.matched.pairs) if c.matched else 0,
                               _num(c.matched.gap.value, 2) if c.matched else "") if c
                              else ("", "", "", 0, 0, ""))])
    pairs = [pair for card in cards for c in card["self"].values() if c.matched for pair in c.matched.pairs]
    return {"cards": cards, "card_surveys": surveys, "self_surveys": self_surveys, "tables": {"agents": table},
            "pairs": pairs[:100], "pairs_total": len(pairs)}


def chart_table(account: Account, p: Params, chart: str) -> Table:
    """The table behind one chart, for its CSV export."""
    if chart not in CHARTS:
        raise ValidationError({"chart": _("Unknown chart.")})
    builder = {"surveys": overview, "trend": overview, "distribution": overview, "segments": segments,
               "themes": theme_page, "agents": agents}[chart]
    tables = builder(account, p)["tables"]
    if chart not in tables:
        raise ValidationError({"survey": _("Choose a survey.")})
    return tables[chart]
