"""Benchmark: responses fanned out to 3 signed webhook endpoints by real Celery workers.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/N .venv/bin/python bench/fanout.py [--quick]

Each response is recorded through ``responses.services.record_response`` in its own transaction;
after commit its event goes through Redis to a real ``celery worker`` (2 processes by default),
which fans it out to 3 Delivery rows and POSTs each, signed, to a local receiver (a threaded HTTP
server in this process). Prints deliveries/s, commit-to-delivery latency (median, p99), and checks
that nothing is missing or duplicated. The baseline POSTs the same number of bodies with plain
``requests`` from 2 threads to the same receiver in the same run. The receiver keeps connections
alive (HTTP/1.1, Nagle off) like a production one, so connection reuse counts on both sides.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENDPOINTS = ("/a", "/b", "/c")


class Receiver(BaseHTTPRequestHandler):
    # Keep-alive with Nagle off, like a production receiver (nginx, gunicorn): HTTP/1.0 here would
    # make every POST open a connection, hiding whether a sender reuses its connections.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    arrivals: list[tuple[str, str, int, float]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        try:
            response_id = json.loads(body)["data"].get("id", 0)
        except (ValueError, KeyError, AttributeError):
            response_id = 0
        with self.lock:
            self.arrivals.append((self.path, self.headers.get("webhook-id", ""), response_id, now))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="200 responses")
    args = parser.parse_args()
    count = 200 if args.quick else args.count
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL; it gets a throw-away account) and REDIS_URL")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ.update({"CELERY_QUEUE": queue, "OUTBOUND_ALLOW_LOOPBACK": "1", "VERBATIM_ENV": "test",
                       "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.setdefault("EVENT_PUBLISH_WINDOW_MS", "100")  # the production default (tests use 0)
    import django

    django.setup()
    import requests
    from django.core.management import call_command
    from django.db import transaction

    from accounts.events import Event
    from accounts.models import Account
    from accounts.scoping import account_scope, cross_account
    from integrations import services
    from integrations.models import Delivery
    from responses.services import record_response
    from surveys.models import Person, Survey

    call_command("migrate", verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    log = ROOT / ".pytest-artifacts" / "bench-fanout-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-c", str(args.workers),
         "-l", os.environ.get("BENCH_WORKER_LOGLEVEL", "warning"), "--without-gossip", "--without-mingle",
         "-n", f"{queue}@%h"],
        cwd=ROOT, env=dict(os.environ), stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    account = None
    try:  # from here on, the worker is stopped whatever happens
        account = Account.objects.create(name="Bench Co", slug=f"bench-{uuid.uuid4().hex[:8]}")
        time.sleep(3)  # the worker connects to Redis; queued messages would wait for it anyway
        with account_scope(account):
            survey = Survey.objects.create(account=account, name="NPS")
            for path in ENDPOINTS:
                services.create_webhook_endpoint(account=account, url=base_url + path, events=["response.created"])
            people = Person.objects.bulk_create(
                [Person(account=account, email=f"p{i}@example.com", name=f"P {i}") for i in range(count)])
        committed: dict[int, float] = {}
        started = time.time()
        for i, person in enumerate(people):
            with account_scope(account), transaction.atomic():
                response = record_response(survey=survey, score=i % 11, person=person, comment=f"c{i}")
            committed[response.pk] = time.time()
        recorded_seconds = time.time() - started
        expected = count * len(ENDPOINTS)
        deadline = time.time() + 600
        while len(Receiver.arrivals) < expected and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # let any duplicate show up
        arrivals = list(Receiver.arrivals)
        with cross_account():
            delivered = Delivery.objects.filter(account=account, status="delivered").count()
            pending_events = Event.objects.filter(account=account, status="pending").count()
        print(f"waited {time.time() - started - recorded_seconds:.1f} s after the last commit; "
              f"events still pending: {pending_events}")
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        if account is not None:
            with cross_account():
                account.delete()

    keys = [(path, message_id) for path, message_id, _rid, _t in arrivals]
    duplicates = len(keys) - len(set(keys))
    got = {(path, rid) for path, _mid, rid, _t in arrivals}
    missing = sum(1 for rid in committed for path in ENDPOINTS if (path, rid) not in got)
    latencies = [(t - committed[rid]) * 1000 for _p, _m, rid, t in arrivals if rid in committed]
    span = max(t for *_x, t in arrivals) - started
    ours = len(arrivals) / span

    # Baseline: the same number of POSTs of a similar body, 2 threads, plain requests, same receiver.
    Receiver.arrivals.clear()
    body = json.dumps({"type": "response.created", "data": {"id": 0, "comment": "x" * 200}}).encode()
    session = requests.Session()

    def post(n: int) -> None:
        session.post(f"{base_url}{ENDPOINTS[n % 3]}", data=body, headers={"Content-Type": "application/json"})

    t0 = time.time()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(post, range(expected)))
    base = expected / (time.time() - t0)
    server.shutdown()

    print(f"responses: {count} x {len(ENDPOINTS)} endpoints = {expected} deliveries; workers: {args.workers}")
    print(f"recording {count} responses took {recorded_seconds:.1f} s")
    print(f"received {len(arrivals)}, delivered rows {delivered}, missing {missing}, duplicated {duplicates}")
    print(f"verbatim: {ours:.0f} deliveries/s (first commit to last delivery)")
    print(f"commit-to-delivery latency: median {statistics.median(latencies):.0f} ms, "
          f"p99 {percentile(latencies, 99):.0f} ms")
    print(f"raw requests.post, {args.workers} threads: {base:.0f} posts/s")
    print(f"RESULT fanout {ours:.0f} deliveries/s = {ours / base:.2f} x raw requests ({base:.0f}/s); "
          f"latency median {statistics.median(latencies):.0f} ms p99 {percentile(latencies, 99):.0f} ms; "
          f"missing {missing} duplicated {duplicates}; n={count}x{len(ENDPOINTS)}")
    if missing or duplicates:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
