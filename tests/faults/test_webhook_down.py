"""A webhook receiver is down (503) for a long outage while answers arrive: once it is back, every event
arrives, each with the same ``webhook-id`` on every attempt, and the receiver can put them back in
order with the endpoint's ``sequence`` (reliability.md 7.5, "Webhook receiver down for 10 min").

Time is compressed, not faked: the real worker runs with ``WEBHOOK_RETRY_SCHEDULE=1,2,4,8,16,32``
instead of 5 s ... 24 h, the outage lasts ``FAULT_WEBHOOK_DOWN_S`` (12) seconds and at least until every event
has been refused once (a busy worker lags), and the test runs
the sweeper (the beat's minute job) every second. As with the real schedule across 10 minutes,
every delivery fails several times, backs off, and is picked up again by the sweeper.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from standardwebhooks import Webhook

from accounts.events import Event
from accounts.scoping import account_scope
from integrations import services
from integrations.models import Delivery, WebhookEndpoint
from tests.faults.conftest import wait_until
from tests.load.harness import answer_body, seed_tokens

pytestmark = [pytest.mark.faults]
DOWN_SECONDS = float(os.environ.get("FAULT_WEBHOOK_DOWN_S", "12"))
ANSWERS = int(os.environ.get("FAULT_WEBHOOK_ANSWERS", "50"))
SCHEDULE = "1,2,4,8,16,32"  # attempt 7 comes 63 s after the first: past any outage up to 60 s


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on loopback that logs every request and answers 503 while ``down``."""

    daemon_threads = True

    def __init__(self) -> None:
        self.down = True
        self.log: list[dict] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def requests(self) -> list[dict]:
        with self.lock:
            return list(self.log)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = 503 if self.server.down else 200
        with self.server.lock:
            self.server.log.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                    "status": status, "at": time.time()})
        answer = b"down for maintenance" if status == 503 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def worker_env(worker_env):
    """The session's worker environment with the compressed retry schedule (for ``fault_worker``)."""
    return {**worker_env, "WEBHOOK_RETRY_SCHEDULE": SCHEDULE}


@pytest.fixture
def receiver():
    server = Receiver()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sweep_then(predicate):  # noqa: ANN001, ANN201
    """A ``wait_until`` predicate that first does the beat's job: one sweep (due retries get a task)."""

    def check():  # noqa: ANN202
        services.sweep()
        return predicate()

    return check


@pytest.mark.timeout(240)
def test_every_event_arrives_once_the_receiver_is_back_with_stable_ids_and_a_sequence(fault_worker, receiver,
                                                                                      settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [int(s) for s in SCHEDULE.split(",")]
    account, survey, tokens = seed_tokens(ANSWERS, name="Hookdown")
    with account_scope(account):
        standard = services.create_webhook_endpoint(account=account, url=receiver.url("/standard"),
                                                    events=["response.created"])
        services.create_webhook_endpoint(account=account, url=receiver.url("/delighted"),
                                         events=["response.created"], format=WebhookEndpoint.Format.DELIGHTED)

    # The outage: answers are posted one after the other (so commit order is the order of this list)
    # through the respondent endpoint; each commit publishes its event to the real worker.
    client = Client()
    outage_started = time.monotonic()
    for i, token in enumerate(tokens):
        answered = client.post(f"/r/{token}", answer_body(i), content_type="application/json",
                               HTTP_ACCEPT="application/json")
        assert answered.status_code == 200, answered.content[:300]
        services.sweep()
    with account_scope(account):
        events = list(Event.objects.filter(account=account, kind="response.created").order_by("pk")
                      .values_list("pk", "payload"))
    assert len(events) == ANSWERS
    expected = {(path, f"evt_{pk}") for pk, _payload in events for path in ("/standard", "/delighted")}

    def refused() -> set[tuple[str, str]]:
        return {(r["path"], r["headers"].get("webhook-id")) for r in receiver.requests() if r["status"] == 503}

    # The outage lasts DOWN_SECONDS, and at least until every event has met it (a busy worker may lag).
    wait_until(sweep_then(lambda: time.monotonic() - outage_started >= DOWN_SECONDS and refused() >= expected),
               "the end of the outage", timeout=DOWN_SECONDS + 120, interval=1.0)
    failed_during_outage = receiver.requests()
    receiver.down = False

    def delivered() -> set[tuple[str, str]]:
        return {(r["path"], r["headers"].get("webhook-id")) for r in receiver.requests() if r["status"] == 200}

    wait_until(sweep_then(lambda: delivered() >= expected), "every event at both endpoints after the outage",
               timeout=120, interval=1.0)
    time.sleep(2)  # let a late duplicate show up before judging
    log = receiver.requests()

    # The outage really was one: every event was refused, retried on the schedule, then accepted.
    assert all(r["status"] == 503 for r in failed_during_outage)
    assert refused() == expected
    attempts: dict[tuple[str, str], int] = defaultdict(int)
    for r in log:
        attempts[(r["path"], r["headers"].get("webhook-id"))] += 1
    assert min(attempts.values()) >= 2
    assert max(attempts.values()) >= 3, "some event went through several backoff steps"

    # Receiver-side deduplication by webhook-id gives exactly the expected set (at-least-once, 7.5 item 4).
    assert delivered() == expected
    # One event, one id: the same webhook-id and the very same bytes on every attempt.
    ids_by_body, bodies_by_id = defaultdict(set), defaultdict(set)
    for r in log:
        ids_by_body[(r["path"], r["body"])].add(r["headers"]["webhook-id"])
        bodies_by_id[(r["path"], r["headers"]["webhook-id"])].add(r["body"])
    assert all(len(ids) == 1 for ids in ids_by_body.values())
    assert all(len(bodies) == 1 for bodies in bodies_by_id.values())
    # Every standard attempt verifies with the independent package (re-signed at each attempt).
    wh = Webhook(standard.secret)
    for r in log:
        if r["path"] == "/standard" and r["status"] == 200:
            wh.verify(r["body"], r["headers"])

    # Reordering: per endpoint, the sequences of the delivered events are 1..N with no gap or repeat,
    # and sorting by them gives the answers in commit order, whatever order they arrived in.
    response_order = [payload["response_id"] for _pk, payload in events]
    for path in ("/standard", "/delighted"):
        first_copy = {}
        for r in log:
            if r["path"] == path and r["status"] == 200:
                first_copy.setdefault(r["headers"]["webhook-id"], r)
        sequences = [int(r["headers"]["webhook-sequence"]) for r in first_copy.values()]
        assert sorted(sequences) == list(range(1, ANSWERS + 1)), path
        ordered = sorted(first_copy.values(), key=lambda r: int(r["headers"]["webhook-sequence"]))
        bodies = [json.loads(r["body"]) for r in ordered]
        if path == "/standard":
            assert [b["sequence"] for b in bodies] == list(range(1, ANSWERS + 1))
            assert [b["data"]["id"] for b in bodies] == response_order
        else:  # Delighted's body is unchanged: the sequence travels in the header only
            assert all(set(b) == {"event_type", "event_id", "event_data"} for b in bodies)
            assert [int(b["event_data"]["id"]) for b in bodies] == response_order

    with account_scope(account):
        statuses = set(Delivery.objects.filter(account=account).values_list("status", flat=True))
        assert statuses == {Delivery.Status.DELIVERED}
        # a success resets the failure clock (D6), so nothing is on its way to being disabled
        assert WebhookEndpoint.objects.filter(account=account, is_active=True, failures=0).count() == 2
