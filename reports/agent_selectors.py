"""Reads behind the agent scorecards: each agent's customers' scores, their self-assessments, and the
self-assessments matched per interaction with the customer's response (docs/metrics.md)."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from reports import metrics
from reports.selectors import Scope, resolution_by_segment, segment_counts
from responses.models import SCORE_COLUMNS
from surveys.models import Survey


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
    gaps = matched_gaps(matched_pairs(scope_all))
    for (agent, survey_id), counts in self_assessment_counts(scope_all).items():
        if scope_all.filters and agent not in customers:
            continue  # a property filter selects agents through their responses
        survey = next(s for s in scope_all.surveys if s.pk == survey_id)
        table[agent]["self"][survey_id] = self_versus_customers(
            survey, counts, customers.get(agent, {}).get(survey_id), gaps.get((agent, survey_id)))
    return [{"agent": agent, **row} for agent, row in sorted(table.items(), key=lambda kv: -kv[1]["responses"])]


# Response properties that carry the interaction a response rates (a ticket, call or chat id), in the
# order they are tried; a self-assessment's ``interaction`` is matched against them.
INTERACTION_KEYS = ("interaction", "interaction_id", "ticket", "ticket_id")
MATCH_WINDOW_DAYS = 30  # customer answers may come days after the interaction (and the self-assessment)


@dataclass(frozen=True)
class MatchedPair:
    """One interaction rated by both: the agent's self-assessment and the customer's response."""

    agent: str
    survey: Survey
    interaction: str
    self_score: int
    customer_score: int
    response_id: int

    @property
    def gap(self) -> int:
        return self.self_score - self.customer_score


@dataclass(frozen=True)
class MatchedGap:
    """The paired comparison over an agent's matched interactions on one survey."""

    pairs: tuple[MatchedPair, ...]
    gap: metrics.Mean  # mean of (self - customer) per interaction, with its interval
    self_mean: float | None
    customer_mean: float | None


def matched_pairs(scope: Scope) -> list[MatchedPair]:
    """Self-assessments of the period that name an interaction, each with the customer response (same
    survey, counted) whose ``interaction``/``interaction_id``/``ticket``/``ticket_id`` property equals that
    reference; the newest response wins when several do. Responses are searched from 30 days before the
    period to 30 days after it. Two queries."""
    start, end = scope.period.bounds(scope.account.tz)
    referenced = scope.account.self_assessments.filter(
        survey_id__in=scope.survey_ids, created_at__gte=start, created_at__lt=end).exclude(interaction="")
    assessments = list(referenced.values_list("agent", "survey_id", "interaction", "score")
                       .order_by("created_at", "id"))
    if not assessments:
        return []
    window = timedelta(days=MATCH_WINDOW_DAYS)
    reference = Coalesce(*(KeyTextTransform(key, "properties") for key in INTERACTION_KEYS))
    found: dict[tuple[int, str], tuple[int, int]] = {}
    in_window = scope.account.responses.filter(survey_id__in=scope.survey_ids, suspected_bot=False,
                                               created_at__gte=start - window, created_at__lt=end + window)
    if connection.vendor == "postgresql":
        rows = (in_window.annotate(ref=reference).filter(ref__in=referenced.values("interaction"))  # a semi-join
                .values_list("survey_id", "ref", "score", "id").order_by("created_at", "id"))
    else:  # SQLite's JSON_EXTRACT types the values it returns: match in Python (the embedded default)
        wanted = {ref for _agent, _survey, ref, _score in assessments}
        rows = [(survey_id, ref, score, pk) for survey_id, props, score, pk in
                in_window.values_list("survey_id", "properties", "score", "id").order_by("created_at", "id")
                if (ref := _reference(props)) in wanted]
    for survey_id, ref, score, pk in rows:
        found[(survey_id, ref)] = (score, pk)  # ordered oldest first: the newest is kept
    surveys = {s.pk: s for s in scope.surveys}
    return [MatchedPair(agent, surveys[survey_id], ref, score, *found[(survey_id, ref)])
            for agent, survey_id, ref, score in assessments if (survey_id, ref) in found]


def _reference(properties: dict | None) -> str | None:
    """The first interaction key a response's properties carry, as text (PostgreSQL's ``->>``)."""
    for key in INTERACTION_KEYS:
        value = (properties or {}).get(key)
        if value is not None:
            return value if isinstance(value, str) else json.dumps(value)
    return None


def matched_gaps(pairs: Iterable[MatchedPair]) -> dict[tuple[str, int], MatchedGap]:
    """Per (agent, survey): the mean paired gap with its interval and both means over the matched pairs."""
    grouped: dict[tuple[str, int], list[MatchedPair]] = defaultdict(list)
    for pair in pairs:
        grouped[(pair.agent, pair.survey.pk)].append(pair)
    out = {}
    for key, items in grouped.items():
        n = len(items)
        out[key] = MatchedGap(tuple(items), metrics.mean_of([p.gap for p in items]),
                              sum(p.self_score for p in items) / n, sum(p.customer_score for p in items) / n)
    return out


@dataclass(frozen=True)
class SelfComparison:
    """An agent's self-assessed scores on one survey beside their customers' (same scale, same period)."""

    survey: Survey
    self_mean: metrics.Mean  # the mean self-assessed score with its interval
    self_headline: metrics.Headline  # the survey's headline (NPS, % easy...) computed from the self-assessments
    customer_mean: float | None  # the customers' mean score on the same scale
    customer_headline: metrics.Headline | None
    matched: MatchedGap | None = None  # the same agent's interactions rated by both, paired

    @property
    def gap(self) -> float | None:
        """Self-assessed mean minus the customers' mean: positive when the agent rates themself higher."""
        if self.self_mean.value is None or self.customer_mean is None:
            return None
        return self.self_mean.value - self.customer_mean


def self_versus_customers(survey: Survey, self_counts: Sequence[int], customer: metrics.Headline | None,
                          matched: MatchedGap | None = None) -> SelfComparison:
    return SelfComparison(survey, metrics.mean_score(self_counts), metrics.headline(survey.kind, self_counts),
                          customer.mean if customer else None, customer, matched)


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
