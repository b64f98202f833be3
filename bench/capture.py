"""Benchmark: response capture over HTTP on loopback (gunicorn + PostgreSQL, persistent connections).

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/capture.py [--requests 20000] [--quick]

32 concurrent clients (keep-alive HTTP/1.1) POST the respondent's JSON submit to ``/r/<token>``, one
fresh invitation token per request: the token lookup, the rate limiter (Redis), the response row
with its row lock, two answers, the rollup and the ``response.created`` / ``response.updated``
events all count. In the same run and served by the same gunicorn and application (production's
config/wsgi.py: the JSON submit on its own middleware stack, everything else on the full one): a
minimal Django view and a bare view doing one ORM INSERT per POST (bench/_capture_app.py). The
three alternate in ``--rounds`` rounds (default 3) so that all see the same machine; each figure
adds up its rounds. Prints req/s, p50/p99, the ratios, the CPU each request cost the gunicorn
workers, PostgreSQL, Redis, the load clients and the whole machine (from /proc; PostgreSQL's and
Redis's are the whole servers'), and the rows written versus the requests sent.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _http_load import combine, run_requests  # bench/ is on sys.path when a script here runs
from _proc import machine_cpu, named_cpu, postgres_cpu, tree_cpu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENTS = 32
CSRF = "benchcsrftoken0123456789abcdefgh"  # a 32-character secret: cookie and header match (Django's check)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, account_id: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "BENCH_ACCOUNT_ID": str(account_id), "CONN_MAX_AGE": "600", "LOG_LEVEL": "ERROR",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench._capture_app:application", "-b", f"127.0.0.1:{port}",
         "-k", "gthread", "-w", str(workers), "--threads", str(threads), "--keep-alive", "30",
         "--backlog", "512", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/minimal")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")


CPU_PARTS = ("gunicorn", "PostgreSQL", "Redis", "load client", "machine")


def cpu_now(server_pid: int) -> tuple[float, ...]:
    """CPU seconds so far of: the gunicorn tree, PostgreSQL, Redis, this process (the load clients),
    and the whole machine (busy)."""
    return (tree_cpu(server_pid), postgres_cpu(), named_cpu("redis-server"), time.process_time(),
            machine_cpu()[0])


def run(port: int, requests: list[tuple[str, str, bytes | None]], server_pid: int | None = None) -> dict:
    """Send the requests with CLIENTS keep-alive connections; returns throughput and latencies, and
    with ``server_pid`` the CPU seconds each of ``CPU_PARTS`` spent meanwhile (``cpu``)."""
    headers = {"Content-Type": "application/json", "Cookie": f"csrftoken={CSRF}", "X-CSRFToken": CSRF,
               "Accept": "application/json", "Host": "127.0.0.1"}
    before = cpu_now(server_pid) if server_pid else ()
    result = run_requests(port, requests, headers=headers, clients=CLIENTS, timeout=30)
    if server_pid:
        result["cpu"] = [after - start for after, start in zip(cpu_now(server_pid), before, strict=True)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="3,000 requests per measurement")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the three measurements alternate in this many rounds (default 3)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    count = 3000 if args.quick else args.requests
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it gets a throw-away account)")
    os.environ.setdefault("VERBATIM_ENV", "test")
    os.environ.setdefault("EVENT_PUBLISH_WINDOW_MS", "100")  # the production default (tests use 0)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.events import Event
    from accounts.models import Account
    from accounts.scoping import account_scope
    from responses.models import Answer, Response
    from surveys.models import Invitation, Person, Question, Survey
    from surveys.tokens import new_token

    account = Account.objects.create(name="Bench Co", slug=f"bench-{uuid.uuid4().hex[:8]}")
    try:
        with account_scope(account):
            survey = Survey.objects.create(account=account, name="Bench NPS", question="How likely...?")
            liked = Question.objects.create(account=account, survey=survey, kind=Question.Kind.SINGLE, text="Liked?",
                                            choices=["Speed", "Price"], allow_other=True)
            ease = Question.objects.create(account=account, survey=survey, kind=Question.Kind.SCALE, text="Ease?",
                                           scale_min=1, scale_max=5)
            people = Person.objects.bulk_create(
                [Person(account=account, email=f"p{i}@bench.example") for i in range(count + 200)], batch_size=2000)
            tokens = [new_token() for _ in people]
            expires = timezone.now() + timezone.timedelta(days=90)
            Invitation.objects.bulk_create(
                [Invitation(account=account, survey=survey, person=p, status=Invitation.Status.SENT, token_hash=h,
                            token_expires_at=expires) for p, (_raw, h) in zip(people, tokens, strict=True)],
                batch_size=2000)
        port = free_port()
        server = start_gunicorn(port, account.pk, args.workers, args.threads)
        try:
            def capture_body(i: int) -> bytes:
                return json.dumps({"score": i % 11, "comment": "Fast and friendly" if i % 2 else "",
                                   "answers": {str(ease.pk): 1 + i % 5}
                                   | ({str(liked.pk): {"value": "other", "other": "The team"}} if i % 11 >= 9 else {})
                                   }).encode()

            warm = [("POST", f"/r/{tokens[count + i][0]}", capture_body(i)) for i in range(200)]
            run(port, [("GET", "/bench/minimal", None)] * 300 + [("POST", "/bench/insert", b"")] * 300 + warm)
            with account_scope(account):
                responses_before = Response.objects.count()
                inserts_before = Event.objects.filter(kind="bench.insert").count()
            # The three alternate in rounds (this VM's speed drifts over minutes; run one after the
            # other, the drift decided the ratios), each round sending 1/rounds of each.
            rounds: dict[str, list[dict]] = {"minimal": [], "insert": [], "capture": []}
            for r in range(args.rounds):
                part = range(r * count // args.rounds, (r + 1) * count // args.rounds)
                rounds["minimal"].append(run(port, [("GET", "/bench/minimal", None)] * len(part), server.pid))
                rounds["insert"].append(run(port, [("POST", "/bench/insert", b"")] * len(part), server.pid))
                rounds["capture"].append(run(port, [("POST", f"/r/{tokens[i][0]}", capture_body(i)) for i in part],
                                             server.pid))
            minimal, insert, capture = (combine(rounds[name]) for name in ("minimal", "insert", "capture"))
            cpu = {name: [sum(r["cpu"][k] for r in rounds[name]) * 1000 / count for k in range(len(CPU_PARTS))]
                   for name in rounds}  # ms per request
            with account_scope(account):
                written = Response.objects.count() - responses_before
                inserted = Event.objects.filter(kind="bench.insert").count() - inserts_before
                answers = Answer.objects.filter(response__survey=survey).count()
        finally:
            server.terminate()
            server.wait(timeout=30)
        ok = capture["statuses"].get(200, 0)
        print(f"config: gunicorn gthread {args.workers} workers x {args.threads} threads, {CLIENTS} clients, "
              f"{count} requests per measurement in {args.rounds} alternating rounds, CONN_MAX_AGE=600")
        for name, figures in (("minimal view", minimal), ("one-INSERT view", insert), ("capture", capture)):
            print(f"{name:16s} {figures['rps']:8.0f} req/s  p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms"
                  f"  statuses {figures['statuses']}")
        print("CPU per request, ms (" + ", ".join(CPU_PARTS) + " busy):")
        for name, label in (("minimal", "minimal view"), ("insert", "one-INSERT view"), ("capture", "capture")):
            print(f"  {label:16s} " + "  ".join(f"{part} {value:.2f}" for part, value in zip(CPU_PARTS, cpu[name],
                                                                                         strict=True)))
        print(f"rows: {written} responses written for {count} capture requests ({ok} answered 200); "
              f"{inserted} rows for {count} one-INSERT requests; {answers} answers in total")
        print(f"RESULT capture {capture['rps']:.0f} req/s, p99 {capture['p99']:.0f} ms = "
              f"{capture['rps'] / insert['rps']:.2f} x one-INSERT view ({insert['rps']:.0f} req/s), "
              f"{capture['rps'] / minimal['rps']:.2f} x minimal view ({minimal['rps']:.0f} req/s); "
              f"rows {written}/{count} {'OK' if written == count == ok else 'MISMATCH'}")
    finally:
        from accounts.scoping import cross_account

        with cross_account():  # remove the throw-away account and everything it owns
            Account.objects.filter(pk=account.pk).delete()


if __name__ == "__main__":
    main()
