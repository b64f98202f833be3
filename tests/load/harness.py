"""Shared by the load and fault suites: a gunicorn server on loopback sharing the test database,
invitation tokens to answer, and a bounded concurrent HTTP driver (threads + keep-alive http.client).

Each client connects from its own loopback address (127.0.0.<n>): the respondent endpoints limit
requests per address (600/min), and 64 real respondents would not share one address.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from accounts.scoping import account_scope
from config.celery import app as celery_app
from surveys.models import Invitation, Person
from surveys.tokens import new_token
from tests.conftest import free_port
from tests.factories import AccountFactory, SurveyFactory

ROOT = Path(__file__).resolve().parents[2]
CSRF = "loadcsrftoken0123456789abcdefghi"  # 32 characters: the cookie and the header match (Django's check)


class Gunicorn:
    """``gunicorn config.wsgi`` in its own session (killed as a group), DEBUG off, on a free port."""

    def __init__(self, env: dict[str, str], workers: int = 3, threads: int = 4) -> None:
        self.port = free_port()
        # Its own queue: the fan-out tasks it publishes are nobody's work here; purged on stop.
        self.queue = f"gunicorn-{uuid.uuid4().hex[:8]}"
        self.env = {**env, "CELERY_QUEUE": self.queue, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
        self.workers, self.threads = workers, threads
        self.log = ROOT / ".pytest-artifacts" / f"gunicorn-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{self.port}",
             "-k", "gthread", "-w", str(self.workers), "--threads", str(self.threads), "--keep-alive", "30",
             "--backlog", "1024", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in 60 s: see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        try:
            with celery_app.connection_for_write() as conn:
                conn.default_channel.queue_purge(self.queue)
        except Exception:  # noqa: BLE001 (a broker already gone, as in the Redis fault test, holds nothing)
            pass


def seed_tokens(n: int, name: str = "Load"):
    """An account, an NPS survey and ``n`` sent invitations; returns (account, survey, raw tokens)."""
    account = AccountFactory(name=name, slug=f"{name.lower()}-{uuid.uuid4().hex[:6]}")
    with account_scope(account):
        survey = SurveyFactory(account=account, name=f"{name} NPS")
        people = Person.objects.bulk_create(
            [Person(account=account, email=f"r{i}@{name.lower()}.example") for i in range(n)], batch_size=5000)
        tokens = [new_token() for _ in people]
        expires = timezone.now() + timedelta(days=30)
        Invitation.objects.bulk_create(
            [Invitation(account=account, survey=survey, person=p, status=Invitation.Status.SENT, token_hash=hashed,
                        token_expires_at=expires, sent_at=timezone.now())
             for p, (_raw, hashed) in zip(people, tokens, strict=True)], batch_size=5000)
    return account, survey, [raw for raw, _hashed in tokens]


def answer_body(i: int) -> bytes:
    return json.dumps({"score": i % 11, "comment": "Quick and kind" if i % 3 == 0 else ""}).encode()


def drive(port: int, requests: list[tuple[str, bytes]], clients: int = 64, timeout: float = 30) -> dict:
    """POST every (path, JSON body) once with ``clients`` keep-alive connections, one loopback address
    each. Returns req/s, p50/p95/p99 (ms) and, per path, the status it got (0: no answer)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Host": "127.0.0.1",
               "Cookie": f"csrftoken={CSRF}", "X-CSRFToken": CSRF}
    lock = threading.Lock()
    index = iter(range(len(requests)))
    latencies: list[float] = []
    outcome: dict[str, int] = {}

    def client(n: int) -> None:
        source = (f"127.0.{1 + n // 250}.{2 + n % 250}", 0)

        def connect() -> http.client.HTTPConnection:
            return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=source)

        conn, mine, lat = connect(), {}, []
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            path, body = requests[i]
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = connect()
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = connect()
            lat.append(time.perf_counter() - started)
            mine[path] = status
        conn.close()
        with lock:
            latencies.extend(lat)
            outcome.update(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[max(0, int(len(latencies) * p) - 1)] * 1000 if latencies else 0.0

    return {"rps": len(requests) / elapsed, "p50": statistics.median(latencies) * 1000 if latencies else 0.0,
            "p95": pct(0.95), "p99": pct(0.99), "outcome": outcome}
