"""Follow-up cases: the cost of opening a case inside the response's transaction, and the inbox query.

    DATABASE_URL=postgres://... VERBATIM_ENV=test .venv/bin/python bench/cases.py [--quick]

1. ``record_response`` for N detractors (each opens a case: rule match, round-robin routing under a
   row lock, SLA due time over business hours, history row, ``case.created`` event) versus N
   promoters in the same run (no case: the rule check only). Prints ms per response and the ratio.
2. The inbox's first page (open cases, overdue first, with response, survey, person and assignee)
   versus a raw SQL query of the same rows and joins. Prints the median and the ratio.
Uses (and replaces) accounts whose slug starts with ``bench-cases``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VERBATIM_ENV", "test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import Account  # noqa: E402
from accounts.scoping import account_scope, cross_account  # noqa: E402
from responses import case_selectors  # noqa: E402
from responses.services import record_response  # noqa: E402

RAW_INBOX = """
SELECT c.*, r.*, s.*, p.*, u.* FROM responses_case c
JOIN responses_response r ON r.id = c.response_id JOIN surveys_survey s ON s.id = r.survey_id
LEFT JOIN surveys_person p ON p.id = c.person_id LEFT JOIN auth_user u ON u.id = c.assignee_id
WHERE c.account_id = %(account)s AND c.holdout = false AND c.status = 'open'
ORDER BY CASE WHEN c.due_at <= %(now)s THEN 0 ELSE 1 END, c.due_at, c.id LIMIT 50
"""


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200 if args.quick else 5000
    with cross_account():  # bench setup spans accounts
        Account.objects.filter(slug__startswith="bench-cases").delete()
        owner, _ = get_user_model().objects.get_or_create(username="bench-cases@example.com",
                                                          defaults={"email": "bench-cases@example.com"})
    account = account_services.create_account(name="bench-cases", owner=owner, time_zone="Europe/Paris")
    with account_scope(account):
        survey = account.surveys.get(is_default=True)
        people = [account.people.create(email=f"p{i}@bench.example") for i in range(n)]
        start = time.perf_counter()
        for person in people:
            record_response(survey=survey, score=9, person=person, channel="link")
        promoters = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for person in people:
            record_response(survey=survey, score=2, person=person, channel="link", comment="late")
        detractors = (time.perf_counter() - start) / n
        assert account.cases.count() == n
        print(f"record_response: detractor (opens a case) {detractors * 1000:.2f} ms, "
              f"promoter (no case) {promoters * 1000:.2f} ms, ratio {detractors / promoters:.2f}x  (n={n})")

        with connection.cursor() as cursor:  # more cases, inserted directly, for the inbox query
            cursor.execute("""
                INSERT INTO responses_case (account_id, response_id, group, status, assignee_id, assignee_email,
                    contact_channel, due_at, experiment, holdout, escalation_level, created_at, updated_at)
                SELECT %(account)s, r.id, 'detractor', 'open', NULL, '', '', now() + (random() - 0.5) * interval
                    '2 days', false, false, 0, now(), now()
                FROM responses_response r WHERE r.account_id = %(account)s AND r.score = 9
            """.replace("group,", '"group",'), {"account": account.pk})
        now = timezone.now()

        def page() -> None:
            list(case_selectors.inbox(account, user=owner, view="open", now=now)[:50])

        def raw() -> None:
            with connection.cursor() as cursor:
                cursor.execute(RAW_INBOX, {"account": account.pk, "now": now})
                cursor.fetchall()

        total = account.cases.count()
        ours, base = timed(page, 30), timed(raw, 30)
        print(f"inbox first page over {total} cases: {ours * 1000:.2f} ms, raw SQL {base * 1000:.2f} ms, "
              f"ratio {ours / base:.2f}x")
        print(f"RESULT record_response detractor {detractors * 1000:.2f} ms = {detractors / promoters:.2f} x promoter "
              f"({promoters * 1000:.2f} ms); inbox {ours * 1000:.2f} ms = {ours / base:.2f} x raw SQL "
              f"({base * 1000:.2f} ms), {total} cases")


if __name__ == "__main__":
    main()
