"""Benchmark: the Delighted-compatible API over HTTP on loopback (gunicorn + PostgreSQL + Redis).

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/api.py [--quick]

16 concurrent keep-alive clients, with an API key (Basic auth, no colon: the Python client's form):
- ``POST /v1/people`` (upsert + schedule an invitation), one new email per request;
- ``GET /v1/survey_responses?per_page=100`` (first page oldest first, a page 50 deep, and newest
  first) at each size of ``--rows`` (default 10,000 then 1,000,000; 10,000 and 100,000 with --quick),
  the table grown between measurements by one ``INSERT ... SELECT generate_series`` (no ORM):
  listing must not degrade with table size. The plan of the listing query is printed (EXPLAIN
  ANALYZE) at every size, so a missing index shows as a Seq Scan / full Sort.
- the minimal Django view of the capture benchmark (bench/_capture_app.py), served the same way.
Prints req/s, p50/p99 and the ratio of each to the minimal view. The rate limit is off for the run.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import uuid
from pathlib import Path

from _http_load import run_requests  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENTS = 16


def run(port: int, requests: list[tuple[str, str, bytes | None]], auth: str) -> dict:
    """Send the requests with CLIENTS keep-alive connections; returns throughput and latencies."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Host": "127.0.0.1",
               "Authorization": auth, "User-Agent": "Delighted Python 4.2.0"}
    return run_requests(port, requests, headers=headers, clients=CLIENTS, timeout=60)


def grow_responses(*, account_id: int, survey_id: int, person_id: int, total: int) -> None:
    """Bring the survey to ``total`` responses with one INSERT ... generate_series (spread over 2 years)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM responses_response WHERE survey_id = %s", [survey_id])
        have = cursor.fetchone()[0]
        if have >= total:
            return
        cursor.execute(
            """INSERT INTO responses_response (account_id, survey_id, person_id, score, comment, channel, properties,
                   locale, suspected_bot, bot_reason, tags, created_at, updated_at)
               SELECT %s, %s, %s, g %% 11, CASE WHEN g %% 3 = 0 THEN 'Great service' ELSE '' END, 'email',
                   '{"plan": "pro"}'::jsonb, 'en', false, '', '[]'::jsonb,
                   now() - interval '730 days' + interval '1 second' * (g::float8 * 63072000 / %s),
                   now() - interval '730 days' + interval '1 second' * (g::float8 * 63072000 / %s)
               FROM generate_series(%s, %s) AS g""",
            [account_id, survey_id, person_id, total, total, have + 1, total])
        cursor.execute("ANALYZE responses_response")


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def explain_listing(*, account_id: int, survey_id: int) -> str:
    """EXPLAIN ANALYZE of the first page's query, exactly as the view builds it (ORM SQL)."""
    from django.db import connection

    from accounts.scoping import account_scope
    from responses.models import Response

    with account_scope(account_id):
        rows = Response.objects.filter(account_id=account_id, survey_id=survey_id).order_by("created_at", "id")[:100]
        sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(line for (line,) in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2,000 requests per measurement; 100k rows, not 1M")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rows", default="",
                        help="comma-separated table sizes to measure the listing at (default 10000,1000000)")
    args = parser.parse_args()
    count = 2000 if args.quick else args.requests
    sizes = sorted(int(n.replace("_", "")) for n in args.rows.split(",") if n.strip()) or (
        [10_000, 100_000] if args.quick else [10_000, 1_000_000])
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it gets a throw-away account)")
    os.environ.setdefault("VERBATIM_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["API_RATE_LIMIT"] = "0/60"  # measure the API, not the limiter's refusals
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Account, ApiKey, hash_secret
    from accounts.scoping import account_scope, cross_account
    from bench.capture import free_port, start_gunicorn
    from surveys.models import Person
    from surveys.services import create_default_survey

    account = Account.objects.create(name="Bench API", slug=f"bench-api-{uuid.uuid4().hex[:8]}")
    try:
        raw = f"vb_{uuid.uuid4().hex[:8]}_{uuid.uuid4().hex}"
        with account_scope(account):
            ApiKey.objects.create(account=account, name="bench", prefix=raw.split("_")[1], key_hash=hash_secret(raw))
            survey = create_default_survey(account)
            person = Person.objects.create(account=account, email="responder@bench.example")
        grow_responses(account_id=account.pk, survey_id=survey.pk, person_id=person.pk, total=sizes[0])
        auth = "Basic " + base64.b64encode(raw.encode()).decode()
        port = free_port()
        server = start_gunicorn(port, account.pk, args.workers, args.threads)
        listings = {"first page": "/v1/survey_responses?per_page=100",
                    "page 50": "/v1/survey_responses?per_page=100&page=50",
                    "newest first": "/v1/survey_responses?per_page=100&order=desc"}
        results: list[tuple[str, dict]] = []
        try:
            first = [("GET", listings["first page"], None)]
            run(port, [("GET", "/bench/minimal", None)] * 300 + first * 100, auth)  # warm up every worker
            minimal = run(port, [("GET", "/bench/minimal", None)] * count, auth)
            results.append(("minimal view", minimal))
            people = run(port, [("POST", "/v1/people", json.dumps(
                {"email": f"p{i}@bench.example", "name": f"P {i}", "properties": {"plan": "pro"}}).encode())
                for i in range(count)], auth)
            results.append(("POST /v1/people", people))
            by_size: dict[int, dict] = {}
            for size in sizes:
                grow_responses(account_id=account.pk, survey_id=survey.pk, person_id=person.pk, total=size)
                print(f"-- plan at {size:,} responses --")
                print(explain_listing(account_id=account.pk, survey_id=survey.pk))
                run(port, first * 100, auth)
                for name, url in listings.items():
                    figures = run(port, [("GET", url, None)] * (count // 4), auth)
                    results.append((f"GET {name} {label(size)}", figures))
                    if name == "first page":
                        by_size[size] = figures
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"config: gunicorn gthread {args.workers} workers x {args.threads} threads, {CLIENTS} clients")
        for name, figures in results:
            print(f"{name:28s} {figures['rps']:8.0f} req/s  p50 {figures['p50']:7.1f} ms  p99 {figures['p99']:7.1f} ms"
                  f"  ratio {figures['rps'] / minimal['rps']:.3f}  statuses {figures['statuses']}")
        small, big = by_size[sizes[0]], by_size[sizes[-1]]
        print(f"RESULT POST /v1/people {people['rps']:.0f} req/s p99 {people['p99']:.0f} ms "
              f"({people['rps'] / minimal['rps']:.2f} x minimal {minimal['rps']:.0f} req/s); "
              f"GET /v1/survey_responses?per_page=100 {small['rps']:.0f} req/s at {label(sizes[0])}, "
              f"{big['rps']:.0f} req/s at {label(sizes[-1])} ({big['rps'] / small['rps']:.2f} x), "
              f"p99 {small['p99']:.0f} / {big['p99']:.0f} ms")
    finally:
        with cross_account():  # remove the throw-away account and everything it owns
            Account.objects.filter(pk=account.pk).delete()


if __name__ == "__main__":
    main()
