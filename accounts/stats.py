"""Pure statistics shared by every app: shares with Wilson intervals and the significance of a change.

No models and no queries, so the lowest layer can hold it: ``reports.metrics`` builds its metric
definitions on it and ``responses.case_selectors`` (the holdout experiment) uses it directly,
without importing ``reports``. Intervals are 95% (z = 1.96).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """A share ``successes / total`` with its 95% Wilson interval (all in 0..1; None when total is 0)."""

    successes: int
    total: int
    value: float | None
    low: float | None
    high: float | None

    @property
    def percent(self) -> float | None:
        return None if self.value is None else 100 * self.value


def proportion(successes: int, total: int) -> Proportion:
    """Share with a Wilson score interval: well-behaved for small samples and shares near 0 or 1."""
    if total <= 0:
        return Proportion(successes, 0, None, None, None)
    p = successes / total
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = Z95 * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return Proportion(successes, total, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Change:
    """The change of a metric between two periods and whether it is statistically significant."""

    before: float | None
    after: float | None
    delta: float | None
    z: float | None
    p_value: float | None
    significant: bool

    @property
    def direction(self) -> str:
        if self.delta is None or not self.significant:
            return "flat"
        return "up" if self.delta > 0 else "down"


def change(before: float | None, after: float | None, se_before: float | None, se_after: float | None) -> Change:
    """z = (after - before) / sqrt(se_before^2 + se_after^2); significant when |z| >= 1.96 (two-sided)."""
    if before is None or after is None:
        return Change(before, after, None, None, None, False)
    delta = after - before
    se = math.sqrt((se_before or 0.0) ** 2 + (se_after or 0.0) ** 2)
    if se == 0:
        return Change(before, after, delta, None, None, False)
    z = delta / se
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Change(before, after, delta, z, p_value, abs(z) >= Z95)


def proportion_change(before: Proportion, after: Proportion) -> Change:
    """Two-proportion z-test (unpooled standard errors), values in percent."""
    def se(p: Proportion) -> float | None:
        return None if p.value is None else 100 * math.sqrt(p.value * (1 - p.value) / p.total)

    return change(before.percent, after.percent, se(before), se(after))
