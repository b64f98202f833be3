"""Reads behind the report pages, exports and the monthly report.

Overviews, trends, breakdowns and one-property filters read the rollups (O(days)): ``DailyRollup``
for the whole survey, its source channel or survey, ``SegmentRollup`` for a property in
``SEGMENT_KEYS`` (channel, agent, store, plan, country). Other properties, and a filter on one
property with a breakdown by another, read the raw rows in one GROUP BY in the database.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth, TruncWeek

from accounts.jsonq import has_tags
from accounts.models import Account
from reports import metrics
from reports.models import SegmentRollup
from reports.periods import Period
from responses.models import SCORE_COLUMNS, Answer, DailyRollup, Response
from responses.rollups import SEGMENT_KEYS
from surveys.models import Invitation, Survey

# Response properties offered first in segment pickers; others are discovered from recent rows.
COMMON_KEYS = list(SEGMENT_KEYS)
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


@dataclass(frozen=True)
class RollupSource:
    """Where a scope's counts live in the rollups: a table, a WHERE clause with its parameters (always
    led by the scope's account), and the column a breakdown groups by."""

    table: str
    where: str
    params: tuple
    column: str

    def sums(self, *group_by: str, select_params: tuple = ()) -> list[tuple]:
        """``SELECT *group_by, sum(s0)..sum(s10) … GROUP BY *group_by``. Plain SQL: these reads are the
        dashboards' hot path, and compiling the equivalent ORM aggregate cost more than running it."""
        select = ", ".join([*group_by, _SUMS])
        group = " GROUP BY " + ", ".join(str(i + 1) for i in range(len(group_by))) if group_by else ""
        where, params = _portable(self.where, self.params)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {select} FROM {self.table} WHERE {where}{group}",  # noqa: S608
                           (*select_params, *params))
            return cursor.fetchall()


def _portable(where: str, params: tuple) -> tuple[str, tuple]:
    """``col = ANY(%s)`` with a list is PostgreSQL's; elsewhere (SQLite, the embedded default) it
    becomes ``col IN (%s, %s, ...)``."""
    if connection.vendor == "postgresql":
        return where, params
    parts, out, flat = where.split("%s"), [], []
    out.append(parts[0])
    for value, part in zip(params, parts[1:], strict=True):
        if isinstance(value, list | tuple):
            out[-1] = out[-1].rstrip().removesuffix("ANY(").rstrip().removesuffix("=") + " IN ("
            out.append(", ".join(["%s"] * len(value)) if value else "NULL")
            flat.extend(value)
        else:
            out.append("%s")
            flat.append(value)
        out.append(part)
    return "".join(out), tuple(flat)


_SUMS = ", ".join(f"coalesce(sum({c}), 0)" for c in SCORE_COLUMNS)


def rollup_rows(scope: Scope, key: str | None = None) -> RollupSource | None:
    """The rollup rows that answer a scope (and a breakdown by ``key``); None when only raw rows can (see
    the module docstring)."""
    survey_ids = scope.survey_ids
    others = []
    for fkey, fvalue in scope.filters:
        if fkey == SURVEY_KEY:
            survey_ids = [pk for pk in survey_ids if str(pk) == str(fvalue)]
        else:
            others.append((fkey, fvalue))
    if len(others) > 1:
        return None
    fkey, fvalue = others[0] if others else (None, None)
    # the account comes from the scope (the door), as in every query of this module
    where = "account_id = %s AND survey_id = ANY(%s) AND day >= %s AND day <= %s"
    params: tuple = (scope.account.pk, list(survey_ids), scope.period.start, scope.period.end)
    dimension = {SOURCE_KEY: "channel", SURVEY_KEY: "survey_id", None: "survey_id"}
    if fkey in (None, SOURCE_KEY) and key in (None, SOURCE_KEY, SURVEY_KEY):
        if fkey:
            where, params = f"{where} AND channel = %s", (*params, fvalue)
        return RollupSource(DailyRollup._meta.db_table, where, params, dimension[key])
    segment_key = fkey if fkey is not None else key
    if segment_key not in SEGMENT_KEYS or (fkey is not None and key not in (None, fkey, SURVEY_KEY)):
        return None
    where, params = f"{where} AND key = %s", (*params, segment_key)
    if fkey is not None:
        where, params = f"{where} AND value = %s", (*params, str(fvalue)[:200])
    return RollupSource(SegmentRollup._meta.db_table, where, params,
                        "survey_id" if key in (None, SURVEY_KEY) else "value")


def score_counts(scope: Scope) -> list[int]:
    """Counts per score of the scope: from the rollups when they answer it, else one GROUP BY score."""
    source = rollup_rows(scope)
    if source is not None:
        return [int(n) for n in source.sums()[0]]
    counts = metrics.empty_counts()
    for score, n in raw_responses(scope).values_list("score").annotate(n=Count("id")).order_by():
        counts[score] += n
    return counts


def counts_by_survey(account: Account, surveys: Sequence[Survey], period: Period,
                     previous: Period) -> dict[int, tuple[list[int], list[int]]]:
    """Counts per score of each survey in ``period`` and in ``previous``: one query over the rollups."""
    out = {s.pk: (metrics.empty_counts(), metrics.empty_counts()) for s in surveys}
    which = "CASE WHEN day >= %s AND day <= %s THEN 0 WHEN day >= %s AND day <= %s THEN 1 END"
    source = RollupSource(DailyRollup._meta.db_table, "account_id = %s AND survey_id = ANY(%s) AND day >= %s "
                          "AND day <= %s", (account.pk, [s.pk for s in surveys], min(period.start, previous.start),
                                            max(period.end, previous.end)), "survey_id")
    rows = source.sums("survey_id", which, select_params=(period.start, period.end, previous.start, previous.end))
    for survey_id, index, *counts in rows:
        if index is not None:
            out[survey_id][index][:] = [int(n) for n in counts]
    return out


def delivered_invitations(account: Account, survey_ids: Sequence[int], period: Period,
                          filters: Sequence[tuple[str, str]] = ()) -> QuerySet[Invitation]:
    """Invitations sent in the period, of the segment the filters select: the segment of an invitation
    is its own properties snapshot (the person's at the time of sending), its channel for ``source``."""
    start, end = period.bounds(account.tz)
    qs = account.invitations.filter(survey_id__in=survey_ids, status=Invitation.Status.SENT,
                                    sent_at__gte=start, sent_at__lt=end)
    for key, value in filters:
        if key == SOURCE_KEY:
            qs = qs.filter(channel=value)
        elif key == SURVEY_KEY:
            qs = qs.filter(survey_id=value) if str(value).isdecimal() else qs.none()
        else:
            qs = qs.filter(**{f"properties__{key}": value})
    return qs


def response_rates(account: Account, surveys: Sequence[Survey], period: Period,
                   filters: Sequence[tuple[str, str]] = ()) -> dict[int, metrics.Proportion]:
    """Response rate of each survey for invitations sent in the period (of the filtered segment):
    one GROUP BY survey."""
    rows = (delivered_invitations(account, [s.pk for s in surveys], period, filters)
            .values("survey_id").annotate(delivered=Count("id"), answered=Count("response")).order_by())
    found = {r["survey_id"]: r for r in rows}
    return {s.pk: metrics.response_rate(responses=found.get(s.pk, {}).get("answered", 0),
                                        delivered=found.get(s.pk, {}).get("delivered", 0)) for s in surveys}


def trend(scope: Scope, *, bucket: str = "month") -> list[tuple[date, list[int]]]:
    """Counts per score for each week (Monday) or month of the period, oldest first, gaps included."""
    source = rollup_rows(scope)
    if source is not None:
        if connection.vendor == "postgresql":
            trunc, trunc_params = f"date_trunc('{'month' if bucket == 'month' else 'week'}', day)::date", ()
        else:  # SQLite: Django's own date_trunc function, which answers text
            trunc, trunc_params = connection.ops.date_trunc_sql("month" if bucket == "month" else "week", "day", ())
        found = {b if isinstance(b, date) else date.fromisoformat(str(b)[:10]): [int(n) for n in counts]
                 for b, *counts in source.sums(trunc, select_params=tuple(trunc_params))}
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
    """Counts per score for each value of a property: one GROUP BY over the rollups when they answer
    it (``rollup_rows``), over the raw rows otherwise."""
    names = {s.pk: s.name for s in scope.surveys}
    source = rollup_rows(scope, key)
    if source is not None:
        out: dict[str, list[int]] = defaultdict(metrics.empty_counts)
        for segment, *counts in source.sums(source.column):
            if source.column == "survey_id":
                segment = names.get(segment, segment)
            target = out["(none)" if segment in (None, "") else str(segment)]
            for score, n in enumerate(counts):
                target[score] += n or 0
        return {segment: counts for segment, counts in out.items() if any(counts)}
    qs = raw_responses(scope)
    if key == SOURCE_KEY:
        rows = qs.values_list("channel", "score")
    elif key == SURVEY_KEY:
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
    """Invitations of the scope's segment sent in the period and how many of them got a response (any
    time since)."""
    row = (delivered_invitations(scope.account, scope.survey_ids, scope.period, scope.filters)
           .aggregate(delivered=Count("id"), answered=Count("response")))
    return metrics.response_rate(responses=row["answered"], delivered=row["delivered"])


def response_rate_by_segment(scope: Scope, key: str) -> dict[str, metrics.Proportion]:
    """Response rate of each value of ``key`` (the invitation's properties snapshot; its channel for
    ``source``): one GROUP BY over the invitations sent in the period."""
    qs = delivered_invitations(scope.account, scope.survey_ids, scope.period, scope.filters)
    if key == SOURCE_KEY:
        qs = qs.annotate(seg=F("channel"))
    elif key == SURVEY_KEY:
        qs = qs.annotate(seg=F("survey__name"))
    else:
        qs = qs.annotate(seg=KeyTextTransform(key, "properties"))
    rows = qs.values("seg").annotate(delivered=Count("id"), answered=Count("response")).order_by()
    return {("(none)" if r["seg"] in (None, "") else str(r["seg"])):
            metrics.response_rate(responses=r["answered"], delivered=r["delivered"]) for r in rows}


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
    # Answers only count for a question flagged now, so no flagged question means no answers: skip them.
    if not scope.account.questions.filter(survey_id__in=scope.survey_ids, is_resolution=True).exists():
        return None
    row = _resolution_answers(scope).aggregate(answered=Count("id"), resolved=Count("id", filter=YES))
    return metrics.resolution_rate(resolved=row["resolved"], answered=row["answered"])


def resolution_by_segment(scope: Scope, key: str) -> dict[str, metrics.Proportion]:
    if not scope.account.questions.filter(survey_id__in=scope.survey_ids, is_resolution=True).exists():
        return {}  # no flagged question, no answers (as in resolution_rate)
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
    response_rate: metrics.Proportion | None = None


def segment_table(scope: Scope, key: str) -> list[SegmentRow]:
    """Each value of ``key``: its headline now and before, and its contribution to the overall change,
    sorted by the size of that contribution (impact)."""
    now = segment_counts(scope, key)
    before = segment_counts(scope.with_period(scope.period.previous()), key)
    drivers = {d.segment: d for d in metrics.decompose_change(scope.kind, before, now)}
    resolution = resolution_by_segment(scope, key)
    rates = response_rate_by_segment(scope, key)
    rows = []
    for segment in set(now) | set(before):
        h1 = metrics.headline(scope.kind, now.get(segment, metrics.empty_counts()))
        h0 = metrics.headline(scope.kind, before.get(segment, metrics.empty_counts()))
        driver = drivers.get(segment)
        rows.append(SegmentRow(segment, h1, h0, metrics.headline_change(h0, h1), driver,
                               metrics.describe_driver(driver, kind=scope.kind) if driver else "",
                               resolution.get(segment), rates.get(segment)))
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
        qs = qs.filter(has_tags("tags", [tag]))
    return qs.order_by("-created_at", "-id")


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
