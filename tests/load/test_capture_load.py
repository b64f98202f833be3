"""Load: 20,000 answers posted by 64 concurrent clients to gunicorn on loopback (reliability.md 7.4).

Every request is answered 2xx or a deliberate 429, and the rows written equal the accepted requests
(one fresh invitation token per request, so one row each). Smaller runs: ``LOAD_RESPONSES=2000``.
Run with ``pytest -m slow tests/load``. The figures are printed (``-s``), never asserted.
"""
from __future__ import annotations

import os

import pytest

from accounts.events import Event
from accounts.scoping import account_scope
from responses.models import Response
from tests.load.harness import Gunicorn, answer_body, drive, seed_tokens

pytestmark = [pytest.mark.slow]
COUNT = int(os.environ.get("LOAD_RESPONSES", "20000"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "64"))


@pytest.mark.timeout(1800)
def test_every_answer_under_load_is_accepted_or_deliberately_refused_and_accepted_means_written(
        worker_env, transactional_db):
    account, survey, tokens = seed_tokens(COUNT)
    server = Gunicorn(worker_env, workers=3, threads=4)
    server.start()
    try:
        result = drive(server.port, [(f"/r/{t}", answer_body(i)) for i, t in enumerate(tokens)], clients=CLIENTS)
    finally:
        server.stop()

    outcome = result["outcome"]
    statuses = {status: list(outcome.values()).count(status) for status in set(outcome.values())}
    print(f"\nload: {COUNT} answers, {CLIENTS} clients: {result['rps']:.0f} req/s, p50 {result['p50']:.0f} ms, "
          f"p95 {result['p95']:.0f} ms, p99 {result['p99']:.0f} ms, statuses {statuses}")
    assert len(outcome) == COUNT
    assert set(statuses) <= {200, 429}, statuses
    accepted = {path.removeprefix("/r/") for path, status in outcome.items() if status == 200}
    with account_scope(account):
        assert Response.objects.filter(survey=survey).count() == len(accepted)
        assert Event.objects.filter(account=account, kind="response.created").count() == len(accepted)
