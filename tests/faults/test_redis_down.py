"""Redis stops while responses arrive: the web tier still stores every answer (F4, F5).

A PRIVATE redis-server on another port (the shared one on 6379 is never touched) backs a gunicorn
server that shares the test database. Answers posted before, during and after the outage are all
answered 2xx and written; the events of the outage wait in the outbox (``accounts.Event``) for the
sweeper. Outage length: ``FAULT_REDIS_DOWN_S`` seconds of answers (default 10; the issue says 30).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from accounts.events import Event
from accounts.scoping import account_scope
from responses.models import Response
from tests.conftest import ROOT, free_port
from tests.factories.integrations import SlackIntegrationFactory
from tests.faults.conftest import wait_until
from tests.load.harness import Gunicorn, answer_body, drive, seed_tokens

pytestmark = [pytest.mark.faults]
DOWN_SECONDS = float(os.environ.get("FAULT_REDIS_DOWN_S", "10"))


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.mark.timeout(300)
def test_answers_are_accepted_and_stored_while_redis_is_down(worker_env, transactional_db):
    account, survey, tokens = seed_tokens(600, name="Outage")
    redis = PrivateRedis()
    redis.start()
    server = Gunicorn({**worker_env, "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"}, workers=2, threads=4)
    server.start()
    try:
        before = drive(server.port, [(f"/r/{t}", answer_body(i)) for i, t in enumerate(tokens[:100])], clients=8)
        redis.stop()  # Redis gone: broker, cache and rate limiter all at once
        during: dict[str, int] = {}
        deadline, start = time.monotonic() + DOWN_SECONDS, 100
        while time.monotonic() < deadline and start < 500:  # bounded: by time and by count
            batch = [(f"/r/{t}", answer_body(i)) for i, t in enumerate(tokens[start:start + 50], start)]
            during.update(drive(server.port, batch, clients=8)["outcome"])
            start += 50
        redis.start()
        after = drive(server.port, [(f"/r/{t}", answer_body(i)) for i, t in enumerate(tokens[500:], 500)], clients=8)
    finally:
        server.stop()
        redis.stop()

    outcomes = {**before["outcome"], **during, **after["outcome"]}
    bad = {path: status for path, status in outcomes.items() if status != 200}
    assert during, "no answer was posted while Redis was down"
    assert bad == {}, f"answers refused or lost during the outage: {list(bad.items())[:10]}"
    with account_scope(account):
        assert Response.objects.filter(survey=survey).count() == len(outcomes)
        created = Event.objects.filter(account=account, kind="response.created").count()
    assert created == len(outcomes), "every stored answer has its event in the outbox for the sweeper"


def private_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A celery worker on the private Redis (the test process's Celery app talks to the shared one,
    so readiness is read from the worker's log rather than a ping)."""
    log.parent.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", env["CELERY_QUEUE"], "-c", "2", "-l", "info",
         "--without-gossip", "--without-mingle", "-n", f"{env['CELERY_QUEUE']}@%h"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(lambda: proc.poll() is not None or " ready." in log.read_text(errors="replace"),
               "the private worker to be ready", timeout=60)
    assert proc.poll() is None, f"the private worker exited: see {log}"
    return proc


@pytest.mark.timeout(300)
def test_slack_gets_every_answer_of_the_outage_once_redis_is_back(worker_env, transactional_db, httpserver):
    """F4: answers stored during the outage have their events in the outbox; after Redis returns the
    sweeper republishes them and the worker delivers each to Slack (a local receiver)."""
    httpserver.expect_request("/services/T0/B0/outage").respond_with_data("ok")
    account, survey, tokens = seed_tokens(12, name="Slackout")
    with account_scope(account):
        SlackIntegrationFactory(account=account, webhook_url=httpserver.url_for("/services/T0/B0/outage"))
    redis = PrivateRedis()
    redis.start()
    env = {**worker_env, "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "EVENT_SWEEP_AFTER_SECONDS": "0",
           "CELERY_QUEUE": f"outage-{uuid.uuid4().hex[:8]}"}
    server = Gunicorn(env, workers=1, threads=4)
    server.start()
    worker = None
    try:
        worker = private_worker(env, ROOT / ".pytest-artifacts" / f"worker-{env['CELERY_QUEUE']}.log")
        answers = [(f"/r/{t}", answer_body(i)) for i, t in enumerate(tokens)]
        outcome = drive(server.port, answers[:4], clients=2)["outcome"]
        redis.stop()
        outcome |= drive(server.port, answers[4:8], clients=2)["outcome"]
        redis.start()
        outcome |= drive(server.port, answers[8:], clients=2)["outcome"]
        assert set(outcome.values()) == {200}, outcome
        with account_scope(account):  # the outage's events could not be published: they wait in the outbox
            assert Event.objects.filter(account=account, status=Event.Status.PENDING).count() >= 4
        subprocess.run([sys.executable, "-m", "celery", "-A", "config", "call", "integrations.sweep",
                        "--queue", env["CELERY_QUEUE"]], cwd=ROOT, env=env, check=True, capture_output=True,
                       timeout=60)

        def slack_recipients() -> set[str]:
            texts = [json.loads(request.get_data()).get("text", "") for request, _ in httpserver.log]
            return {m.group(1) for t in texts for m in [re.search(r"from (r\d+@slackout\.example)", t)] if m}

        expected = {f"r{i}@slackout.example" for i in range(12)}
        wait_until(lambda: slack_recipients() >= expected, "a Slack message for every answer", timeout=150,
                   interval=0.5)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        server.stop()
        redis.stop()
