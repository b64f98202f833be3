"""Reads behind the report pages, exports and the monthly report.

Unfiltered overviews and trends read ``DailyRollup`` (O(days)); a filter or breakdown by a response
property (channel, agent, store...) needs the raw rows, aggregated in one GROUP BY in the database.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth, TruncWeek

from accounts.models import Account
from reports import metrics
from reports.periods import Period
from responses.models import SCORE_COLUMNS, Answer, DailyRollup, Response
from surveys.models import Invitation, Survey

# Response properties offered first in segment pickers; others are discovered from recent rows.
COMMON_KEYS = ["channel", "agent", "store", "plan", "country"]
SOURCE_KEY = "source"  # the technical channel of the response (email, link, widget...)
SURVEY_KEY = "survey"


@dataclass(frozen=True)
class Scope:
    """What a report looks at: one account, some surveys of one kind, a period, optional property filters."""

    account: Account
    surveys: tuple[Survey, ...]
    period: Period
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return self.surveys[0].kind if self.surveys else "nps"

    @property
    def survey_ids(self) -> list[int]:
        return [s.pk for s in self.surveys]

    def with_period(self, period: Period) -> Scope:
        return Scope(self.account, self.surveys, period, self.filters)


def surveys_of(account: Account) -> list[Survey]:
    return list(account.surveys.exclude(status=Survey.Status.ARCHIVED).order_by("-is_default", "name"))


def property_keys(account: Account, *, sample: int = 200) -> list[str]:
    """Property names to segment by: the common ones, then keys seen in the latest responses."""
    seen: dict[str, None] = {}
    for props in account.responses.order_by("-created_at").values_list("properties", flat=True)[:sample]:
        for key in props or {}:
            if isinstance(key, str) and not key.startswith("_") and key != "locale":
                seen[key] = None
    found = [k for k in COMMON_KEYS if k in seen] + sorted(k for k in seen if k not in COMMON_KEYS)
    return found + [SOURCE_KEY, SURVEY_KEY]


def _sum_columns() -> dict:
    return {c: Sum(c) for c in SCORE_COLUMNS}


def _counts_of(row: dict) -> list[int]:
    return [row.get(c) or 0 for c in SCORE_COLUMNS]


def raw_responses(scope: Scope) -> QuerySet[Response]:
    """The counted responses (no suspected bots) of a scope, with its property filters."""
    start, end = scope.period.bounds(scope.account.tz)
    qs = scope.account.responses.filter(survey_id__in=scope.survey_ids, created_at__gte=start, created_at__lt=end,
                                        suspected_bot=False)
    for key, value in scope.filters:
        qs = qs.filter(**_filter_kwargs(key, value))
    return qs


def _filter_kwargs(key: str, value: str) -> dict:
    if key == SOURCE_KEY:
        return {"channel": value}
    if key == SURVEY_KEY:
        return {"survey_id": value}
    return {f"properties__{key}": value}


def score_counts(scope: Scope) -> list[int]:
    """Counts per score of the scope: rollups when unfiltered, one GROUP BY score otherwise."""
    if not scope.filters:
        row = DailyRollup.objects.filter(account=scope.account, survey_id__in=scope.survey_ids,
                                         day__gte=scope.period.start, day__lte=scope.period.end
                                         ).aggregate(**_sum_columns())
        return _counts_of(row)
    counts = metrics.empty_counts()
    for score, n in raw_responses(scope).values_list("score").annotate(n=Count("id")).order_by():
        counts[score] += n
    return counts


def counts_by_survey(account: Account, surveys: Sequence[Survey], period: Period,
                     previous: Period) -> dict[int, tuple[list[int], list[int]]]:
    """Counts per score of each survey in ``period`` and in ``previous``: one query over the rollups."""
    sums = {}
    for label, p in (("now", period), ("before", previous)):
        in_period = Q(day__gte=p.start, day__lte=p.end)
        sums.update({f"{label}_{c}": Sum(c, filter=in_period) for c in SCORE_COLUMNS})
    rows = (DailyRollup.objects.filter(account=account, survey_id__in=[s.pk for s in surveys],
                                       day__gte=min(period.start, previous.start),
                                       day__lte=max(period.end, previous.end))
            .values("survey_id").annotate(**sums).order_by())
    out = {s.pk: (metrics.empty_counts(), metrics.empty_counts()) for s in surveys}
    for row in rows:
        out[row["survey_id"]] = ([row[f"now_{c}"] or 0 for c in SCORE_COLUMNS],
                                 [row[f"before_{c}"] or 0 for c in SCORE_COLUMNS])
    return out


def response_rates(account: Account, surveys: Sequence[Survey], period: Period) -> dict[int, metrics.Proportion]:
    """Response rate of each survey for invitations sent in the period: one GROUP BY survey."""
    start, end = period.bounds(account.tz)
    rows = (account.invitations.filter(survey_id__in=[s.pk for s in surveys], status=Invitation.Status.SENT,
                                       sent_at__gte=start, sent_at__lt=end)
            .values("survey_id").annotate(delivered=Count("id"), answered=Count("response")).order_by())
    found = {r["survey_id"]: r for r in rows}
    return {s.pk: metrics.response_rate(responses=found.get(s.pk, {}).get("answered", 0),
                                        delivered=found.get(s.pk, {}).get("delivered", 0)) for s in surveys}


def trend(scope: Scope, *, bucket: str = "month") -> list[tuple[date, list[int]]]:
    """Counts per score for each week (Monday) or month of the period, oldest first, gaps included."""
    if not scope.filters:
        trunc = TruncMonth("day") if bucket == "month" else TruncWeek("day")
        rows = (DailyRollup.objects.filter(account=scope.account, survey_id__in=scope.survey_ids,
                                           day__gte=scope.period.start, day__lte=scope.period.end)
                .annotate(b=trunc).values("b").annotate(**_sum_columns()).order_by("b"))
        found = {_as_date(r["b"]): _counts_of(r) for r in rows}
    else:
        tz = scope.account.tz
        trunc = TruncMonth("created_at", tzinfo=tz) if bucket == "month" else TruncWeek("created_at", tzinfo=tz)
        found = defaultdict(metrics.empty_counts)
        for b, score, n in raw_responses(scope).annotate(b=trunc).values_list("b", "score").annotate(
                n=Count("id")).order_by():
            found[_as_date(b)][score] += n
    return [(b, found.get(b, metrics.empty_counts())) for b in buckets(scope.period, bucket)]


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def buckets(period: Period, bucket: str) -> list[date]:
    from datetime import timedelta

    if bucket == "month":
        day, out = period.start.replace(day=1), []
        while day <= period.end:
            out.append(day)
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return out
    day = period.start - timedelta(days=period.start.weekday())
    out = []
    while day <= period.end:
        out.append(day)
        day += timedelta(days=7)
    return out


def segment_counts(scope: Scope, key: str) -> dict[str, list[int]]:
    """Counts per score for each value of a property (one GROUP BY over the raw rows)."""
    qs = raw_responses(scope)
    if key == SOURCE_KEY:
        rows = qs.values_list("channel", "score")
    elif key == SURVEY_KEY:
        names = {s.pk: s.name for s in scope.surveys}
        rows = ((names.get(sid, sid), score, n) for sid, score, n in
                qs.values_list("survey_id", "score").annotate(n=Count("id")).order_by())
        return _fold(rows)
    else:
        rows = qs.annotate(seg=KeyTextTransform(key, "properties")).values_list("seg", "score")
    return _fold(rows.annotate(n=Count("id")).order_by())


def _fold(rows: Iterable[tuple]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(metrics.empty_counts)
    for segment, score, n in rows:
        out["(none)" if segment in (None, "") else str(segment)][score] += n
    return dict(out)


def response_rate(scope: Scope) -> metrics.Proportion:
    """Invitations sent in the period and how many of them got a response (any time since)."""
    start, end = scope.period.bounds(scope.account.tz)
    row = (scope.account.invitations.filter(survey_id__in=scope.survey_ids, status=Invitation.Status.SENT,
                                            sent_at__gte=start, sent_at__lt=end)
           .aggregate(delivered=Count("id"), answered=Count("response")))
    return metrics.response_rate(responses=row["answered"], delivered=row["delivered"])


def _resolution_answers(scope: Scope) -> QuerySet[Answer]:
    start, end = scope.period.bounds(scope.account.tz)
    qs = Answer.objects.filter(account=scope.account, question__is_resolution=True,
                               response__survey_id__in=scope.survey_ids, response__suspected_bot=False,
                               response__created_at__gte=start, response__created_at__lt=end)
    for key, value in scope.filters:
        qs = qs.filter(**{f"response__{k}": v for k, v in _filter_kwargs(key, value).items()})
    return qs


YES = Q(value=True) | Q(value="yes") | Q(value="Yes")


def resolution_rate(scope: Scope) -> metrics.Proportion | None:
    """Share of "yes" to the resolution question; None when no survey in scope asks one."""
    qs = _resolution_answers(scope)
    row = qs.aggregate(answered=Count("id"), resolved=Count("id", filter=YES))
    if not row["answered"] and not scope.account.questions.filter(survey_id__in=scope.survey_ids,
                                                                  is_resolution=True).exists():
        return None
    return metrics.resolution_rate(resolved=row["resolved"], answered=row["answered"])


def resolution_by_segment(scope: Scope, key: str) -> dict[str, metrics.Proportion]:
    qs = _resolution_answers(scope)
    if key in (SOURCE_KEY, SURVEY_KEY):
        field = "response__channel" if key == SOURCE_KEY else "response__survey__name"
        qs = qs.annotate(seg=F(field))
    else:
        qs = qs.annotate(seg=KeyTextTransform(key, "response__properties"))
    rows = qs.values("seg").annotate(answered=Count("id"), resolved=Count("id", filter=YES)).order_by()
    return {("(none)" if r["seg"] in (None, "") else str(r["seg"])):
            metrics.resolution_rate(resolved=r["resolved"], answered=r["answered"]) for r in rows}


# --- pages ---------------------------------------------------------------------------------------

@dataclass
class SegmentRow:
    segment: str
    headline: metrics.Headline
    previous: metrics.Headline
    change: metrics.Change
    driver: metrics.Driver | None
    sentence: str
    resolution: metrics.Proportion | None = None


def segment_table(scope: Scope, key: str) -> list[SegmentRow]:
    """Each value of ``key``: its headline now and before, and its contribution to the overall change,
    sorted by the size of that contribution (impact)."""
    now = segment_counts(scope, key)
    before = segment_counts(scope.with_period(scope.period.previous()), key)
    drivers = {d.segment: d for d in metrics.decompose_change(scope.kind, before, now)}
    resolution = resolution_by_segment(scope, key)
    rows = []
    for segment in set(now) | set(before):
        h1 = metrics.headline(scope.kind, now.get(segment, metrics.empty_counts()))
        h0 = metrics.headline(scope.kind, before.get(segment, metrics.empty_counts()))
        driver = drivers.get(segment)
        rows.append(SegmentRow(segment, h1, h0, metrics.headline_change(h0, h1), driver,
                               metrics.describe_driver(driver, kind=scope.kind) if driver else "",
                               resolution.get(segment)))
    return sorted(rows, key=lambda r: (-(abs(r.driver.total) if r.driver else 0), -r.headline.total))


def group_filter(surveys: Sequence[Survey], group: str) -> Q:
    """Responses in a score group (promoter / passive / detractor) across surveys of different kinds."""
    condition = Q(pk__in=[])
    for survey in surveys:
        scores = [s for s in survey.scores if survey.group_of(s) == group]
        condition |= Q(survey_id=survey.pk, score__in=scores)
    return condition


def comments(scope: Scope, *, group: str = "", text: str = "", tag: str = "") -> QuerySet[Response]:
    """The comment feed: newest first, filtered by score group, free text and tag."""
    qs = raw_responses(scope).exclude(comment="").select_related("survey", "person")
    if group:
        qs = qs.filter(group_filter(scope.surveys, group))
    if text:
        qs = qs.filter(comment__icontains=text)
    if tag:
        qs = qs.filter(tags__contains=[tag])
    return qs.order_by("-created_at", "-id")


def agent_scorecards(scope_all: Scope, *, key: str = "agent") -> list[dict]:
    """Per agent: the headline of each survey (NPS, CES, CSAT...), the resolution rate and, where the agent
    rated their own interactions, ``self[survey_pk]``: a ``SelfComparison`` with the customers' score."""
    table: dict[str, dict] = defaultdict(lambda: {"scores": {}, "responses": 0, "resolution": None, "self": {}})
    for survey in scope_all.surveys:
        scope = Scope(scope_all.account, (survey,), scope_all.period, scope_all.filters)
        for agent, counts in segment_counts(scope, key).items():
            table[agent]["scores"][survey.pk] = metrics.headline(survey.kind, counts)
            table[agent]["responses"] += sum(counts)
    for agent, rate in resolution_by_segment(scope_all, key).items():
        table[agent]["resolution"] = rate
    customers = {agent: dict(row["scores"]) for agent, row in table.items()}
    for (agent, survey_id), counts in self_assessment_counts(scope_all).items():
        if scope_all.filters and agent not in customers:
            continue  # a property filter selects agents through their responses
        survey = next(s for s in scope_all.surveys if s.pk == survey_id)
        table[agent]["self"][survey_id] = self_versus_customers(survey, counts, customers.get(agent, {}).get(survey_id))
    return [{"agent": agent, **row} for agent, row in sorted(table.items(), key=lambda kv: -kv[1]["responses"])]


@dataclass(frozen=True)
class SelfComparison:
    """An agent's self-assessed scores on one survey beside their customers' (same scale, same period)."""

    survey: Survey
    self_mean: metrics.Mean  # the mean self-assessed score with its interval
    self_headline: metrics.Headline  # the survey's headline (NPS, % easy...) computed from the self-assessments
    customer_mean: float | None  # the customers' mean score on the same scale
    customer_headline: metrics.Headline | None

    @property
    def gap(self) -> float | None:
        """Self-assessed mean minus the customers' mean: positive when the agent rates themself higher."""
        if self.self_mean.value is None or self.customer_mean is None:
            return None
        return self.self_mean.value - self.customer_mean


def self_versus_customers(survey: Survey, self_counts: Sequence[int],
                          customer: metrics.Headline | None) -> SelfComparison:
    return SelfComparison(survey, metrics.mean_score(self_counts), metrics.headline(survey.kind, self_counts),
                          customer.mean if customer else None, customer)


def self_assessment_counts(scope: Scope) -> dict[tuple[str, int], list[int]]:
    """Counts per score of self-assessments per (agent, survey) in the scope's period: one GROUP BY."""
    start, end = scope.period.bounds(scope.account.tz)
    rows = (scope.account.self_assessments.filter(survey_id__in=scope.survey_ids, created_at__gte=start,
                                                  created_at__lt=end)
            .values_list("agent", "survey_id", "score").annotate(n=Count("id")).order_by())
    out: dict[tuple[str, int], list[int]] = defaultdict(metrics.empty_counts)
    for agent, survey_id, score, n in rows:
        if 0 <= score < len(SCORE_COLUMNS):
            out[(agent, survey_id)][score] += n
    return dict(out)


def score_counts_between(account: Account, surveys: Sequence[Survey], *, since=None, until=None) -> list[int]:
    """Counts per score between two instants (APIs: Delighted's ``since``/``until`` are Unix times,
    not whole days, so this reads raw rows in one GROUP BY score). Feed the result to ``metrics``."""
    qs = account.responses.filter(survey_id__in=[s.pk for s in surveys], suspected_bot=False)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    counts = metrics.empty_counts()
    for score, n in qs.values_list("score").annotate(n=Count("id")).order_by():
        counts[score] += n
    return counts
