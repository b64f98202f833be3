"""Agent scorecards with self-assessments: the self-assessment aggregate versus the raw SQL GROUP BY.

    DATABASE_URL=postgres://... VERBATIM_ENV=test .venv/bin/python bench/self_assessment.py --quick
    DATABASE_URL=postgres://... VERBATIM_ENV=test .venv/bin/python bench/self_assessment.py   # 200k rows

One account gets N self-assessments (200,000 in full mode, 10,000 with --quick) by 50 agents over two
years, plus N / 2 responses with an ``agent`` property; another account gets as many self-assessments
(rows that must not be read). Then, in this process:
- ``agent_selectors.self_assessment_counts`` for a 365-day period: median and p95;
- ``agent_selectors.matched_pairs`` (each self-assessment ``T-<g>`` paired with the response whose ``ticket``
  property is the same, for half of them, where their dates fall within 30 days): median and p95;
- the raw SQL aggregate over the same rows (GROUP BY agent, survey, score): its median, and the ratio;
- the agents page (customers' scores + self-assessments) through Django's test client: median and p95.
Needs PostgreSQL. Uses (and replaces) accounts whose slug starts with ``bench-self-``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VERBATIM_ENV", "test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import Account  # noqa: E402
from accounts.scoping import account_scope, cross_account  # noqa: E402
from reports import agent_selectors, selectors  # noqa: E402
from reports.periods import Period  # noqa: E402
from responses.rollups import rebuild_rollups  # noqa: E402

INSERT_SELF = """
INSERT INTO reports_selfassessment (account_id, survey_id, agent, score, interaction, comment, created_at)
SELECT %(account)s, %(survey)s, 'agent-' || (g %% 50), floor(random() * 11)::int, 'T-' || g, '',
       now() - (random() * interval '730 days')
FROM generate_series(1, %(n)s) AS g
"""
INSERT_RESPONSES = """
INSERT INTO responses_response (account_id, survey_id, score, comment, channel, properties, locale, suspected_bot,
                                bot_reason, tags, created_at, updated_at, completed_at)
SELECT %(account)s, %(survey)s, s.score, '', 'email',
       jsonb_build_object('agent', 'agent-' || (g %% 50), 'ticket', 'T-' || g),
       'en', false, '', '[]'::jsonb, s.at, s.at, s.at
FROM generate_series(1, %(n)s) AS g,
     LATERAL (SELECT floor(random() * 11)::int AS score, now() - (random() * interval '730 days') AS at, g AS k) AS s
"""
RAW = """
SELECT agent, survey_id, score, count(*) FROM reports_selfassessment
WHERE account_id = %(account)s AND survey_id = %(survey)s AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY 1, 2, 3
"""


def make_account(slug: str, n: int, owner) -> Account:
    account = account_services.create_account(name=slug, owner=owner, time_zone="Europe/Helsinki")
    account.slug = slug
    account.save(update_fields=["slug"])
    with account_scope(account):
        survey = account.surveys.get(is_default=True)
        with connection.cursor() as cursor:
            cursor.execute(INSERT_SELF, {"account": account.pk, "survey": survey.pk, "n": n})
            cursor.execute(INSERT_RESPONSES, {"account": account.pk, "survey": survey.pk, "n": n // 2})
        rebuild_rollups(account=account)
    return account


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, runs = (10_000, 20) if args.quick else (200_000, 50)
    setup_test_environment()
    with cross_account():  # the bench replaces its own accounts; bulk SQL first (no ORM cascade over many rows)
        ids = list(Account.objects.filter(slug__startswith="bench-self-").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            for table in ("reports_selfassessment", "responses_answer", "responses_dailyrollup",
                          "reports_segmentrollup", "responses_response"):
                cursor.execute(f"DELETE FROM {table} WHERE account_id = ANY(%s)", [ids])  # noqa: S608
        Account.objects.filter(pk__in=ids).delete()
    owner, _ = get_user_model().objects.get_or_create(username="bench-self@example.com",
                                                      defaults={"email": "bench-self@example.com"})
    account = make_account("bench-self-main", n, owner)
    make_account("bench-self-other", n, owner)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_selfassessment")
    with account_scope(account):
        survey = account.surveys.get(is_default=True)
        today = timezone.now().astimezone(account.tz).date()
        period = Period(today - timedelta(days=364), today)
        scope = selectors.Scope(account, (survey,), period)
        start, end = period.bounds(account.tz)
        ours = timed(lambda: agent_selectors.self_assessment_counts(scope), runs)

        def raw() -> None:
            with connection.cursor() as cursor:
                cursor.execute(RAW, {"account": account.pk, "survey": survey.pk, "start": start, "end": end})
                cursor.fetchall()

        base = timed(raw, runs)
        pairs = len(agent_selectors.matched_pairs(scope))
        matching = timed(lambda: agent_selectors.matched_pairs(scope), max(5, runs // 4))
    client = Client()
    client.force_login(owner)
    first = client.get(f"/app/{account.slug}/reports/agents/?period=365d")
    assert first.status_code == 200 and b"self-assessment-table" in first.content, first.status_code
    page = timed(lambda: client.get(f"/app/{account.slug}/reports/agents/?period=365d"), max(5, runs // 4))
    print(f"self-assessments: {n:,} in the account (+{n:,} in another), {n // 2:,} responses, 50 agents")
    print(f"self_assessment_counts (365 days): median {statistics.median(ours) * 1000:.1f} ms, "
          f"p95 {p95(ours) * 1000:.1f} ms")
    print(f"raw SQL GROUP BY, same rows:      median {statistics.median(base) * 1000:.1f} ms; "
          f"ratio ours/raw {statistics.median(ours) / statistics.median(base):.2f}")
    print(f"matched_pairs (365 days, {pairs:,} pairs by ticket): median {statistics.median(matching) * 1000:.1f} ms, "
          f"p95 {p95(matching) * 1000:.1f} ms")
    print(f"agents page (customers + self):   median {statistics.median(page) * 1000:.1f} ms, "
          f"p95 {p95(page) * 1000:.1f} ms")
    print(f"RESULT self-assessment counts median {statistics.median(ours) * 1000:.1f} ms = "
          f"{statistics.median(ours) / statistics.median(base):.2f} x raw GROUP BY; matched pairs "
          f"{statistics.median(matching) * 1000:.1f} ms ({pairs:,}); agents page p95 {p95(page) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
