"""Every metric definition of Verbatim, in one module (documented in docs/metrics.md).

Pure functions over counts: no queries, so dashboards (rollups), exports (raw rows), the monthly
report and the APIs (``/api/v1/.../metrics``, Delighted's ``/v1/metrics``) share one definition.
``counts`` is always a sequence of 11 integers: ``counts[s]`` responses with score ``s`` (0..10).
Intervals are 95% (z = 1.96) normal approximations, Wilson intervals for shares.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# The share and change helpers live one layer down (pure, shared with responses); re-exported here
# because every metric is documented as reports.metrics.<name>.
from accounts.stats import Z95, Change, Proportion, proportion, proportion_change  # noqa: F401
from accounts.stats import change as _change

EASY_MIN = 5  # CES 1-7: 5, 6, 7 are "easy"
SATISFIED_MIN = 4  # CSAT 1-5: 4 and 5 are "satisfied"


def empty_counts() -> list[int]:
    return [0] * 11


def add_counts(*many: Sequence[int]) -> list[int]:
    """Element-wise sum of score count vectors."""
    total = empty_counts()
    for counts in many:
        for score, n in enumerate(counts):
            total[score] += n
    return total


def counts_from_scores(scores: Sequence[int]) -> list[int]:
    """Count vector of a list of raw scores (tests and small drill-downs)."""
    counts = empty_counts()
    for score in scores:
        counts[score] += 1
    return counts


# --- proportions ---------------------------------------------------------------------------------

def response_rate(*, responses: int, delivered: int) -> Proportion:
    """Responses received / invitations delivered (sent) over the same invitations."""
    return proportion(min(responses, delivered), delivered)


def resolution_rate(*, resolved: int, answered: int) -> Proportion:
    """First-contact resolution: share of "yes" among answers to the survey's resolution question."""
    return proportion(resolved, answered)


# --- NPS -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Nps:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), in -100..100."""

    total: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # unrounded
    margin: float | None  # 95% margin of error, in NPS points
    standard_error: float | None  # in NPS points

    @property
    def low(self) -> float | None:
        return None if self.score is None else max(-100.0, self.score - self.margin)

    @property
    def high(self) -> float | None:
        return None if self.score is None else min(100.0, self.score + self.margin)

    def share(self, group: str) -> float | None:
        """Share of a group (promoters / passives / detractors) in percent."""
        if not self.total:
            return None
        return 100 * getattr(self, group) / self.total


def nps(counts: Sequence[int]) -> Nps:
    """NPS with counts and the 95% margin of error.

    Each respondent is +1 (promoter), 0 (passive) or -1 (detractor); NPS is 100 x the mean. The
    variance of that difference is p + d - (p - d)^2, so SE = 100 * sqrt((p + d - (p - d)^2) / n).
    """
    detractors = sum(counts[0:7])
    passives = counts[7] + counts[8]
    promoters = counts[9] + counts[10]
    n = detractors + passives + promoters
    if n == 0:
        return Nps(0, 0, 0, 0, None, None, None)
    p, d = promoters / n, detractors / n
    variance = p + d - (p - d) ** 2
    se = 100 * math.sqrt(max(variance, 0.0) / n)
    return Nps(n, promoters, passives, detractors, 100 * (p - d), Z95 * se, se)


def nps_change(before: Nps, after: Nps) -> Change:
    """Two independent samples: z = (NPS2 - NPS1) / sqrt(SE1^2 + SE2^2); significant when |z| >= 1.96."""
    return _change(before.score, after.score, before.standard_error, after.standard_error)


def mean_change(before: Mean, after: Mean) -> Change:
    """Welch z-test of two means: (m2 - m1) / sqrt(s1^2/n1 + s2^2/n2)."""
    return _change(before.value, after.value, before.standard_error, after.standard_error)


# --- means (CES on 1-7, 5-star) -------------------------------------------------------------------

@dataclass(frozen=True)
class Mean:
    total: int
    value: float | None
    sd: float | None
    standard_error: float | None
    low: float | None
    high: float | None


def mean_score(counts: Sequence[int]) -> Mean:
    """Mean score with a 95% interval from the sample standard deviation (n - 1)."""
    n = sum(counts)
    if n == 0:
        return Mean(0, None, None, None, None, None)
    mean = sum(score * k for score, k in enumerate(counts)) / n
    if n == 1:
        return Mean(1, mean, None, None, None, None)
    variance = sum(k * (score - mean) ** 2 for score, k in enumerate(counts)) / (n - 1)
    sd = math.sqrt(variance)
    se = sd / math.sqrt(n)
    return Mean(n, mean, sd, se, mean - Z95 * se, mean + Z95 * se)


def mean_of(values: Sequence[float]) -> Mean:
    """Mean of raw values with a 95% interval (n - 1): e.g. the paired gaps self-assessed minus customer."""
    n = len(values)
    if n == 0:
        return Mean(0, None, None, None, None, None)
    mean = sum(values) / n
    if n == 1:
        return Mean(1, mean, None, None, None, None)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    se = sd / math.sqrt(n)
    return Mean(n, mean, sd, se, mean - Z95 * se, mean + Z95 * se)


def ces(counts: Sequence[int]) -> tuple[Mean, Proportion]:
    """CES on 1-7: the mean and the share of easy answers (5-7) with its interval."""
    return mean_score(counts), proportion(sum(counts[EASY_MIN:8]), sum(counts[1:8]))


def csat(counts: Sequence[int]) -> Proportion:
    """CSAT on 1-5: the share of 4 and 5."""
    return proportion(sum(counts[SATISFIED_MIN:6]), sum(counts[1:6]))


# --- one headline per survey kind ------------------------------------------------------------------

@dataclass(frozen=True)
class Headline:
    """The number a dashboard shows for a survey kind, its interval and unit, plus the detail."""

    kind: str
    label: str
    value: float | None
    low: float | None
    high: float | None
    unit: str  # "" for NPS points and means, "%" for shares
    total: int
    standard_error: float | None
    groups: dict[str, int] = field(default_factory=dict)  # promoter / passive / detractor counts
    mean: float | None = None

    @property
    def margin(self) -> float | None:
        if self.value is None or self.high is None:
            return None
        return (self.high - self.low) / 2


def _groups(kind: str, counts: Sequence[int]) -> dict[str, int]:
    from surveys.models import score_group

    groups = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, n in enumerate(counts):
        if n:
            groups[score_group(kind, score)] += n
    return groups


def headline(kind: str, counts: Sequence[int]) -> Headline:
    """NPS for nps (and custom 0-10), % easy for ces, % satisfied for csat, mean for five_star."""
    groups = _groups(kind, counts)
    if kind == "ces":
        mean, easy = ces(counts)
        return _from_proportion(kind, "% easy", easy, groups, mean.value)
    if kind == "csat":
        return _from_proportion(kind, "% satisfied", csat(counts), groups, mean_score(counts).value)
    if kind == "five_star":
        mean = mean_score(counts)
        return Headline(kind, "mean rating", mean.value, mean.low, mean.high, "", mean.total, mean.standard_error,
                        groups, mean.value)
    result = nps(counts)
    return Headline(kind, "NPS", result.score, result.low, result.high, "", result.total, result.standard_error,
                    groups, mean_score(counts).value)


def _from_proportion(kind: str, label: str, share: Proportion, groups: dict[str, int],
                     mean: float | None) -> Headline:
    se = None if share.value is None else 100 * math.sqrt(share.value * (1 - share.value) / share.total)
    pct = (lambda v: None if v is None else 100 * v)  # noqa: E731
    return Headline(kind, label, pct(share.value), pct(share.low), pct(share.high), "%", share.total, se, groups,
                    mean)


def headline_change(before: Headline, after: Headline) -> Change:
    """Significance of the change of a headline between two periods."""
    return _change(before.value, after.value, before.standard_error, after.standard_error)


def headline_value(kind: str, counts: Sequence[int]) -> float | None:
    return headline(kind, counts).value


# --- what moved the score: mix versus rate ---------------------------------------------------------

@dataclass(frozen=True)
class Driver:
    """One segment's contribution to the change of the overall score between two periods.

    ``rate`` is the part due to the segment's own score moving, ``mix`` the part due to its share of
    responses moving; ``rate + mix`` summed over all segments equals the overall change exactly.
    """

    segment: str
    n_before: int
    n_after: int
    weight_before: float
    weight_after: float
    value_before: float | None
    value_after: float | None
    rate: float
    mix: float
    shares_before: dict[str, float] = field(default_factory=dict)  # % promoters / passives / detractors
    shares_after: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.rate + self.mix


def decompose_change(kind: str, before: Mapping[str, Sequence[int]],
                     after: Mapping[str, Sequence[int]]) -> list[Driver]:
    """Shapley-style (midpoint) decomposition of the overall change into per-segment rate and mix.

    Overall value V = sum_i w_i v_i (w: share of responses, v: segment score). With midpoints
    w_bar, v_bar: rate_i = w_bar_i (v1_i - v0_i) and mix_i = (w1_i - w0_i)(v_bar_i - V0); the sum
    of both over segments is V1 - V0 (the V0 term cancels because the weight changes sum to 0).
    A segment absent in one period takes its other period's score. Sorted by |rate + mix|.
    """
    n0 = sum(sum(c) for c in before.values())
    n1 = sum(sum(c) for c in after.values())
    overall_before = headline_value(kind, add_counts(*before.values())) if n0 else None
    drivers = []
    for segment in sorted(set(before) | set(after)):
        c0, c1 = before.get(segment, empty_counts()), after.get(segment, empty_counts())
        k0, k1 = sum(c0), sum(c1)
        w0 = k0 / n0 if n0 else 0.0
        w1 = k1 / n1 if n1 else 0.0
        v0 = headline_value(kind, c0) if k0 else None
        v1 = headline_value(kind, c1) if k1 else None
        a, b = (v0 if v0 is not None else v1), (v1 if v1 is not None else v0)
        if a is None or b is None:
            continue
        rate = (w0 + w1) / 2 * (b - a)
        mix = (w1 - w0) * ((a + b) / 2 - (overall_before or 0.0))
        drivers.append(Driver(segment, k0, k1, w0, w1, v0, v1, rate, mix, _shares(kind, c0), _shares(kind, c1)))
    return sorted(drivers, key=lambda d: -abs(d.total))


def _shares(kind: str, counts: Sequence[int]) -> dict[str, float]:
    n = sum(counts)
    return {g: 100 * k / n for g, k in _groups(kind, counts).items()} if n else {}


GROUP_WORDS = {"promoter": "promoters", "passive": "passives", "detractor": "detractors"}


def _fmt(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:.0f}{unit}" if unit == "%" else f"{value:.1f}"


def describe_driver(driver: Driver, *, kind: str, label: str = "") -> str:
    """The plain-words sentence for one driver, e.g. "chat: NPS fell from 32.0 to 12.0 (-4.1 points)"."""
    name = label or driver.segment
    unit = "%" if kind in ("ces", "csat") else ""
    metric = {"ces": "% easy", "csat": "% satisfied", "five_star": "mean rating"}.get(kind, "NPS")
    parts = []
    if driver.value_before is not None and driver.value_after is not None and abs(driver.rate) >= abs(driver.mix):
        verb = "rose" if driver.value_after > driver.value_before else "fell" if driver.value_after < \
            driver.value_before else "held"
        moves = {g: driver.shares_after.get(g, 0) - driver.shares_before.get(g, 0)
                 for g in ("promoter", "detractor")} if driver.shares_before and driver.shares_after else {}
        if moves and max(abs(v) for v in moves.values()) >= 0.5:
            group = max(moves, key=lambda g: abs(moves[g]))
            group_verb = "rose" if moves[group] > 0 else "fell"
            parts.append(f"{name}: {GROUP_WORDS[group]} {group_verb} from {driver.shares_before[group]:.0f}% to "
                         f"{driver.shares_after[group]:.0f}% ({metric} {verb} from "
                         f"{_fmt(driver.value_before, unit)} to {_fmt(driver.value_after, unit)})")
        else:
            parts.append(f"{name}: {metric} {verb} from {_fmt(driver.value_before, unit)} to "
                         f"{_fmt(driver.value_after, unit)}")
    else:
        verb = "grew" if driver.weight_after > driver.weight_before else "shrank"
        parts.append(f"{name}: share of responses {verb} from {100 * driver.weight_before:.0f}% to "
                     f"{100 * driver.weight_after:.0f}%")
    sign = "+" if driver.total >= 0 else ""
    rate, mix = round(driver.rate, 1) + 0.0, round(driver.mix, 1) + 0.0  # + 0.0: no "-0.0"
    parts.append(f"{sign}{driver.total:.1f} points (rate {rate:+.1f}, mix {mix:+.1f})")
    return ": ".join(parts[:1]) + " — " + parts[1]
