"""Benchmark: CSV import of people (rows/s), vs a raw baseline in the same run.

    DATABASE_URL=postgres://... .venv/bin/python bench/import_people.py [--rows 100000] [--quick]

Verbatim's path: the background import job (parse, validate every row, detect duplicates, upsert in
chunks, progress saved per chunk). Baseline: csv.reader plus psycopg COPY of the same rows into a
temporary table (no validation, no upsert): the floor of what PostgreSQL can take.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "plan", "country"])
    for i in range(rows):
        writer.writerow([f"person{i}@example.com", f"Person {i}", "pro" if i % 3 else "free", "FI"])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 rows")
    args = parser.parse_args()
    rows = 10_000 if args.quick else args.rows
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it gets a throw-away account)")
    os.environ.setdefault("VERBATIM_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import Account
    from accounts.scoping import account_scope, cross_account
    from surveys import services
    from surveys.models import PersonImport

    content = make_csv(rows)
    account = Account.objects.create(name="Bench Import", slug=f"bench-import-{uuid.uuid4().hex[:8]}")
    try:
        with account_scope(account):
            job = PersonImport(account=account, filename="bench.csv", status=PersonImport.Status.PENDING,
                               mapping={"email": "email", "name": "name", "plan": "property:plan",
                                        "country": "property:country"})
            job.file.save(f"bench-{account.pk}.csv", ContentFile(content), save=True)
            started = time.perf_counter()
            done = services.run_person_import(account=account, import_id=job.pk)
            ours_seconds = time.perf_counter() - started
            assert done.created_count == rows, (done.created_count, done.error_count, done.errors[:3])
            job.file.delete(save=False)

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_people (email text, name text, plan text, country text)")
            with cursor.copy("COPY bench_people FROM STDIN") as copy:
                reader = csv.reader(io.StringIO(content.decode()))
                next(reader)
                for row in reader:
                    copy.write_row(row)
            cursor.execute("DROP TABLE bench_people")
        raw_seconds = time.perf_counter() - started
    finally:
        with cross_account():
            account.delete()
    ours, base = rows / ours_seconds, rows / raw_seconds
    print(f"rows: {rows}")
    print(f"verbatim import: {ours:.0f} rows/s ({ours_seconds:.2f} s)")
    print(f"raw csv + COPY: {base:.0f} rows/s ({raw_seconds:.2f} s)")
    print(f"RESULT import {ours:.0f} rows/s = {ours / base:.2f} x raw csv+COPY ({base:.0f} rows/s); n={rows}")


if __name__ == "__main__":
    main()
