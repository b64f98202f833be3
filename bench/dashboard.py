"""Report dashboard speed: rollups versus the raw aggregate, segment breakdown, streaming CSV export.

    DATABASE_URL=postgres://... VERBATIM_ENV=test .venv/bin/python bench/dashboard.py --quick
    DATABASE_URL=postgres://... VERBATIM_ENV=test .venv/bin/python bench/dashboard.py --full   # 1M + 10 x 100k

One account gets N responses over two years (1,000,000 in full mode) and other accounts 100,000 each
(2 x 5,000 with --quick), inserted with generate_series; rollups are built by the real
``rebuild_rollups`` (daily and segment rollups, in SQL). Then, in this process:
- the overview page (12-month trend by month, distribution, every survey vs the previous period,
  response rate) through Django's test client: median and p95 server time, both from the cached
  panels and recomputed from the rollups (the rollup version bumped before each request, as a new
  response does), with the number of queries;
- the raw SQL aggregate over the same rows (score counts per month for those 12 months): its median;
- the segment breakdown page (segment rollups), recomputed and cached, against the raw SQL GROUP BY
  of the same property over the rows;
- the streamed CSV export of 100,000 rows (or all in --quick): time and Python peak memory, compared
  with an export of a tenth as many rows (flat memory means both peaks are about the same).
Needs PostgreSQL. Uses (and replaces) accounts whose slug starts with ``bench-dash-``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VERBATIM_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import Account  # noqa: E402
from accounts.scoping import account_scope, cross_account  # noqa: E402
from responses.rollups import bump_rollup_version, rebuild_rollups  # noqa: E402

INSERT = """
INSERT INTO responses_response (account_id, survey_id, score, comment, channel, properties, locale, suspected_bot,
                                bot_reason, tags, created_at, updated_at, completed_at)
SELECT %(account)s, %(survey)s, s.score,
       CASE WHEN random() < 0.3 THEN (ARRAY['slow app', 'billing error again', 'friendly support'])[1 + (g %% 3)]
            ELSE '' END,
       'email',
       jsonb_build_object('channel', (ARRAY['phone', 'chat', 'email', 'in person'])[1 + (g %% 4)],
                          'agent', (ARRAY['anna', 'ben', 'carla', 'dmitri', 'eva'])[1 + (g %% 5)],
                          'plan', (ARRAY['free', 'pro', 'enterprise'])[1 + (g %% 3)]),
       'en', false, '', '[]'::jsonb, s.at, s.at, s.at
FROM generate_series(1, %(n)s) AS g,
     LATERAL (SELECT floor(random() * 11)::int AS score,
                     now() - (random() * interval '730 days') AS at, g AS k) AS s
"""

RAW_SEGMENT = """
SELECT properties ->> 'channel', score, count(*)
FROM responses_response
WHERE account_id = %(account)s AND survey_id = %(survey)s AND NOT suspected_bot
  AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY 1, 2
"""

RAW_TREND = """
SELECT date_trunc('month', created_at AT TIME ZONE %(tz)s) AS m, score, count(*)
FROM responses_response
WHERE account_id = %(account)s AND survey_id = %(survey)s AND NOT suspected_bot
  AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY 1, 2
"""


def make_account(slug: str, n: int, owner) -> Account:
    account = account_services.create_account(name=slug, owner=owner, time_zone="Europe/Helsinki")
    account.slug = slug
    account.save(update_fields=["slug"])
    with account_scope(account):
        survey = account.surveys.get(is_default=True)
        with connection.cursor() as cursor:
            cursor.execute(INSERT, {"account": account.pk, "survey": survey.pk, "n": n})
        rebuild_rollups(account=account)
    return account


def drop_bench_accounts() -> None:
    """Delete the bench accounts; their responses and rollups first in bulk SQL (the ORM's cascade
    would load a million rows into memory)."""
    with cross_account():  # the benchmark replaces its own accounts
        ids = list(Account.objects.filter(slug__startswith="bench-dash-").values_list("pk", flat=True))
        if not ids:
            return
        with connection.cursor() as cursor:
            for table in ("responses_answer", "responses_dailyrollup", "reports_segmentrollup",
                          "responses_response"):
                cursor.execute(f"DELETE FROM {table} WHERE account_id = ANY(%s)", [ids])  # noqa: S608
        Account.objects.filter(pk__in=ids).delete()


def timed(func, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        out.append(time.perf_counter() - started)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (the default without --quick)")
    parser.add_argument("--responses", type=int, default=0, help="responses of the main account (overrides)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("RESULT dashboard: skipped (needs PostgreSQL: set DATABASE_URL)")
        return
    n_main, others, n_other, export_rows = (20_000, 2, 5_000, 20_000) if args.quick else (
        1_000_000, 10, 100_000, 100_000)
    if args.responses:
        n_main, export_rows = args.responses, min(args.responses, 100_000)
    # Not setup_test_environment(): its instrumented template rendering (a context copy per template) is
    # test-only overhead the production server does not pay. The test client only needs its host allowed.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    owner = account_services.get_or_create_user(email="bench@verbatim.example", password="bench-password-1")
    drop_bench_accounts()
    started = time.perf_counter()
    main_account = make_account("bench-dash-main", n_main, owner)
    for i in range(others):
        make_account(f"bench-dash-other-{i}", n_other, owner)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE responses_response; ANALYZE responses_dailyrollup; ANALYZE reports_segmentrollup")
    print(f"data: {n_main} + {others} x {n_other} responses, rollups built in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(get_user_model().objects.get(pk=owner.pk))
    with account_scope(main_account):
        survey = main_account.surveys.get(is_default=True)
    today = timezone.now().astimezone(main_account.tz).date()
    start = today.replace(day=1) - timedelta(days=335)
    start = start.replace(day=1)
    query = f"survey={survey.pk}&start={start}&end={today}&bucket=month"
    base = f"/app/{main_account.slug}/reports/"

    def overview():
        response = client.get(f"{base}?{query}")
        assert response.status_code == 200, response.status_code

    def overview_cold():
        bump_rollup_version(main_account)  # as after a new response: every cached panel is recomputed
        overview()

    overview()  # warm-up
    cold_times = timed(overview_cold, 10 if args.quick else 30)
    page_times = timed(overview, 10 if args.quick else 30)
    with CaptureQueriesContext(connection) as warm_queries:
        overview()
    bump_rollup_version(main_account)
    with CaptureQueriesContext(connection) as cold_queries:
        overview()

    from reports.periods import Period

    bounds = Period(start, today).bounds(main_account.tz)

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW_TREND, {"tz": main_account.time_zone, "account": main_account.pk,
                                       "survey": survey.pk, "start": bounds[0], "end": bounds[1]})
            cursor.fetchall()

    raw()
    raw_times = timed(raw, 5)
    page_median, raw_median = statistics.median(page_times), statistics.median(raw_times)
    cold_median = statistics.median(cold_times)
    print(f"RESULT overview 12-month trend, cached panels (rollup version unchanged): median "
          f"{page_median * 1000:.1f} ms, p95 {p95(page_times) * 1000:.1f} ms, {len(warm_queries)} queries; "
          f"raw SQL aggregate median {raw_median * 1000:.1f} ms; raw / page = {raw_median / page_median:.1f}x")
    print(f"RESULT overview 12-month trend, recomputed from rollups (version bumped before each request): "
          f"median {cold_median * 1000:.1f} ms, p95 {p95(cold_times) * 1000:.1f} ms, {len(cold_queries)} queries; "
          f"raw / page = {raw_median / cold_median:.1f}x")

    def segments():
        response = client.get(f"{base}segments/?{query}&segment=channel")
        assert response.status_code == 200

    def segments_cold():
        bump_rollup_version(main_account)
        segments()

    def raw_segments():
        with connection.cursor() as cursor:
            cursor.execute(RAW_SEGMENT, {"account": main_account.pk, "survey": survey.pk,
                                         "start": bounds[0], "end": bounds[1]})
            cursor.fetchall()

    segments()
    seg_times = timed(segments_cold, 10 if args.quick else 20)
    seg_warm = timed(segments, 10 if args.quick else 20)
    raw_seg = timed(raw_segments, 3)
    seg_median, raw_seg_median = statistics.median(seg_times), statistics.median(raw_seg)
    print(f"RESULT segment breakdown by channel (12 months + previous period, segment rollups): recomputed "
          f"median {seg_median * 1000:.1f} ms, p95 {p95(seg_times) * 1000:.1f} ms; cached median "
          f"{statistics.median(seg_warm) * 1000:.1f} ms, p95 {p95(seg_warm) * 1000:.1f} ms; raw SQL GROUP BY "
          f"channel over the rows (one period) median {raw_seg_median * 1000:.0f} ms; raw / page = "
          f"{raw_seg_median / seg_median:.1f}x")

    def export(rows: int) -> tuple[float, int, int]:
        with account_scope(main_account):
            newest = list(main_account.responses.order_by("-created_at").values_list("created_at", flat=True)
                          [rows - 1:rows])
        since = newest[0].astimezone(main_account.tz).date() if newest else start
        url = f"{base}export/responses?format=csv&survey={survey.pk}&start={since}&end={today}"
        began = time.perf_counter()
        lines = sum(chunk.count(b"\n") for chunk in client.get(url).streaming_content)
        elapsed = time.perf_counter() - began
        tracemalloc.start()  # a second run for memory: tracemalloc slows Python down several times
        for _chunk in client.get(url).streaming_content:
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return elapsed, peak, lines - 1

    small_time, small_peak, small_rows = export(max(export_rows // 10, 1))
    big_time, big_peak, big_rows = export(export_rows)
    print(f"RESULT CSV export: {big_rows} rows in {big_time:.1f} s ({big_rows / big_time:.0f} rows/s), "
          f"Python peak {big_peak / 1e6:.1f} MB vs {small_peak / 1e6:.1f} MB for {small_rows} rows "
          f"(ratio {big_peak / max(small_peak, 1):.2f}: flat memory)")
    drop_bench_accounts()


if __name__ == "__main__":
    main()
