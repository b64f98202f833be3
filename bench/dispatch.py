"""Benchmark: invitations dispatched and sent into an aiosmtpd sink, vs raw smtplib in the same run.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/dispatch.py [--count 100000] [--quick]

Everything counts for Verbatim: the dispatcher's hand-out, the per-message mark, suppression and
throttle checks, token minting, rendering (HTML + text, i18n), sending over each lane's connection,
and recording ``sent``. The baseline sends the same messages, rendered in full by Django beforehand
(untimed), with smtplib over one connection. The two alternate, one dispatcher tick (up to 5,000
messages) of Verbatim then the same messages raw, so both see the same machine (this VM's speed
drifts over minutes); each side's clocks run during its own segments only. The sink is a separate
process (aiosmtpd's Sink handler that also counts, bench/_sink.py), so both share its cost.

Who sends (``--worker``):
- ``celery`` (the default when REDIS_URL is set): the product's own path. The dispatcher cycle runs
  here and publishes its send tasks to Redis; a real ``celery worker`` with ``--concurrency`` pool
  processes (default 2, as docker-compose.yml's worker) sends them from a queue of this run's own.
  A tick's clock stops when the sink has all its messages and none of its rows is left
  ``scheduled`` or ``sending`` (each tick's rows have the earliest ``scheduled_at``). Peak RSS is
  the largest pool process's, before the first tick and at the end.
- ``inline``: this process is one pool child running the send tasks one after another (no broker;
  ``--profile`` needs it). Peak RSS is this process's (at the end it includes the baseline's
  rendering, in chunks of 500).
Each task runs its batch over ``SEND_LANES`` lanes (threads, each with its own database and SMTP
connection; ``--lanes N`` overrides the setting, 1 = one sender). The output names the lanes used.
CPU per message is printed for the sending processes (with a worker: its processes plus this one's
dispatcher cycles), the sink and PostgreSQL (read from /proc; PostgreSQL's is the whole server's,
other sessions on a shared machine included), with how busy the whole machine was.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _proc import machine_cpu, peak_rss_mb, postgres_cpu, proc_cpu, tree_cpu, tree_pids  # bench/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkCounter:
    """Messages the sink has accepted so far (bench/_sink.py writes a byte per message to its stdout)."""

    def __init__(self, stream) -> None:
        self.count = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            with self._changed:
                self.count += len(chunk)
                self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether the sink has accepted ``count`` messages in all within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout=timeout)


def start_sink(port: int) -> tuple[subprocess.Popen, SinkCounter]:
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "_sink.CountingSink",
                             "-l", f"127.0.0.1:{port}"], cwd=Path(__file__).resolve().parent,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, SinkCounter(proc.stdout)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the aiosmtpd sink did not start")


def start_worker(queue: str, concurrency: int) -> subprocess.Popen:
    """A real ``celery worker`` on this run's queue (the environment carries the sink's EMAIL_URL)."""
    from config.celery import app

    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
                             "-c", str(concurrency), "-P", "prefork", "-l", "warning", "--without-gossip",
                             "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
                            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the celery worker exited at start")
        if app.control.ping(destination=[f"{queue}@{socket.gethostname()}"], timeout=0.5):
            return proc
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the celery worker did not answer in 60 s")


def wal_stats() -> tuple[int, int]:
    """(WAL bytes, full-page images) the whole PostgreSQL server wrote so far (pg_stat_wal)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")
        wal_bytes, fpi = cursor.fetchone()
    return int(wal_bytes), int(fpi)


class Totals:
    """Wall time, CPU of the sending processes (this one, or the worker's tree), of the sink and of
    PostgreSQL, machine busy time and WAL, summed over the segments one side of the comparison ran."""

    def __init__(self, worker_pid: int | None = None) -> None:
        self.seconds = self.cpu = self.sink = self.pg = self.busy = self.total = 0.0
        self.wal_bytes = self.wal_fpi = 0
        self._marks: tuple = ()
        # With a worker: its processes' CPU plus this one's (the dispatcher cycle runs here).
        self._own_cpu = (time.process_time if worker_pid is None
                         else lambda: time.process_time() + tree_cpu(worker_pid))

    def start(self, sink_pid: int) -> None:
        self._marks = (time.perf_counter(), self._own_cpu(), proc_cpu(sink_pid), postgres_cpu(),
                       machine_cpu(), wal_stats())

    def stop(self, sink_pid: int) -> None:
        wall, cpu, sink, pg, machine, wal = self._marks
        self.seconds += time.perf_counter() - wall
        self.cpu += self._own_cpu() - cpu
        self.sink += proc_cpu(sink_pid) - sink
        self.pg += postgres_cpu() - pg
        busy, total = machine_cpu()
        self.busy += busy - machine[0]
        self.total += total - machine[1]
        wal_bytes, wal_fpi = wal_stats()
        self.wal_bytes += wal_bytes - wal[0]
        self.wal_fpi += wal_fpi - wal[1]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 invitations")
    parser.add_argument("--lanes", type=int, default=None, help="sender lanes per send task (default: SEND_LANES)")
    parser.add_argument("--worker", choices=("celery", "inline"), default=None,
                        help="celery: a real worker on Redis sends (default when REDIS_URL is set); "
                             "inline: this process runs the send tasks")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="pool processes of the celery worker (default 2, as docker-compose.yml)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the Verbatim part (slower; for finding costs; needs --worker inline)")
    args = parser.parse_args()
    count = 2000 if args.quick else args.count
    worker_mode = args.worker or ("celery" if os.environ.get("REDIS_URL") and not args.profile else "inline")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it gets a throw-away account)")
    if worker_mode == "celery" and (args.profile or not os.environ.get("REDIS_URL")):
        raise SystemExit("--worker celery needs REDIS_URL (its broker) and no --profile")
    port = free_port()
    sink, accepted = start_sink(port)
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.pop("ANYMAIL_ESP", None)
    os.environ.setdefault("VERBATIM_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["CELERY_QUEUE"] = queue  # this run's own queue: no other worker takes its tasks
    if args.lanes is not None:
        os.environ["SEND_LANES"] = str(args.lanes)  # the worker reads it too
    import django

    django.setup()
    from django.conf import settings

    if args.lanes is not None:
        settings.SEND_LANES = args.lanes
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from accounts.models import Account
    from accounts.scoping import account_scope, cross_account
    from surveys import services
    from surveys.models import Invitation, Person, Survey

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    worker: subprocess.Popen | None = None  # the celery worker, once started
    account = Account.objects.create(name="Bench Co", slug=slug, sender_email="feedback@bench.example",
                                     throttle_days=30, send_quota_hourly=count, send_quota_daily=count)
    try:
        with account_scope(account):
            survey = Survey.objects.create(account=account, name="NPS", question="How likely are you to "
                                           "recommend {{company}} to a friend or colleague?",
                                           placeholder_defaults={"company": "Bench Co"})
            people = Person.objects.bulk_create(
                [Person(account=account, email=f"p{i}@example.com", name=f"P {i}") for i in range(count)],
                batch_size=5000)
            # Distinct due times in creation order: a tick hands out the earliest ones, so the rows of
            # tick k are those at positions [done, done + handed), and waiting for them uses an index.
            due = timezone.now() - timedelta(hours=1)
            invitations = Invitation.objects.bulk_create(
                [Invitation(account=account, survey=survey, person=p, scheduled_at=due + timedelta(microseconds=i))
                 for i, p in enumerate(people)], batch_size=5000)
            invitation_ids = [i.pk for i in invitations]
            del people, invitations
        if worker_mode == "celery":
            worker = start_worker(queue, args.concurrency)
        rss_before = rss_mb() if worker is None else peak_rss_mb(tree_pids(worker.pid)[1:])

        handed_ids: list[int] = []

        def enqueue(account_id: int, ids: list[int], attempt_id: uuid.UUID) -> None:
            services.send_invitations(account=account, invitation_ids=ids, attempt_id=attempt_id)
            handed_ids.extend(ids)

        def raw_messages(ids: list[int]) -> list[tuple[str, bytes]]:
            """The same messages as Django renders them in full (untimed), for the raw baseline."""
            with account_scope(account):
                chunk = Invitation.objects.filter(pk__in=ids).select_related("person", "survey", "account")
                return [(i.person.email, services.emails.build_message(invitation=i, raw_token="x" * 32, attempt=9)
                         .message().as_bytes(linesep="\r\n")) for i in chunk]

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU time: wall time is noise on a busy machine
        ours = Totals(worker.pid if worker is not None else None)
        base = Totals()
        done = 0

        def wait_for_tick(handed: int) -> None:
            """Until the worker has finished every row of the tick: the sink has all its messages (read
            from the sink, no polling), then none of its rows is left scheduled or sending (polled,
            through the (account, status, scheduled_at) index: only the lanes' last marks remain)."""
            last = due + timedelta(microseconds=done + handed - 1)
            with cross_account():
                pending = Invitation.objects.filter(account=account, scheduled_at__lte=last,
                                                    status__in=("scheduled", "sending"))
                # Once a second meanwhile, whether rows were skipped (nothing for the sink: don't wait)
                # or the worker died.
                while not accepted.wait_for(sent_before + handed, timeout=1) and pending.exists():
                    if worker.poll() is not None:
                        raise SystemExit("the celery worker exited")
                while pending.exists():
                    time.sleep(0.01)
        # Verbatim and the baseline alternate, one dispatcher tick (up to 5,000 messages) of each at a
        # time: this VM's speed drifts by up to 40 % over minutes, which decided the ratio when one ran
        # after the other (docs/performance.md). Each side's clocks run only during its own segments.
        with smtplib.SMTP("127.0.0.1", port) as smtp:  # the baseline's one connection, for the whole run
            while True:
                handed_ids.clear()
                ours.start(sink.pid)
                if profiler is not None:
                    profiler.enable()
                if worker is None:
                    handed = services.dispatch_due(enqueue=enqueue)
                else:
                    sent_before = accepted.count
                    handed = services.dispatch_due()  # the real hand-out: send tasks published to Redis
                    wait_for_tick(handed)
                    handed_ids[:] = invitation_ids[done:done + handed]
                if profiler is not None:
                    profiler.disable()
                ours.stop(sink.pid)
                done += handed
                if not handed:
                    break
                for offset in range(0, len(handed_ids), 500):  # rendered in small chunks: RSS stays the worker's
                    raw = raw_messages(handed_ids[offset:offset + 500])
                    base.start(sink.pid)
                    for to, data in raw:
                        smtp.sendmail("feedback@bench.example", [to], data)
                    base.stop(sink.pid)
        if profiler is not None:
            import pstats

            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        rss_after = rss_mb() if worker is None else peak_rss_mb(tree_pids(worker.pid)[1:])
        with cross_account():
            sent = Invitation.objects.filter(account=account, status="sent").count()
        assert sent == count, f"only {sent} of {count} sent"
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        with cross_account():
            account.delete()
        sink.terminate()
        sink.wait(timeout=10)

    rate, base_rate = count / ours.seconds, count / base.seconds
    print(f"invitations: {count}")
    print(f"verbatim dispatch+send: {rate:.0f} msg/s ({ours.seconds:.2f} s)")
    print(f"raw smtplib, one connection: {base_rate:.0f} msg/s ({base.seconds:.2f} s), alternating with Verbatim "
          "one dispatcher tick at a time")
    senders = (f"a celery worker, {args.concurrency} pool processes" if worker_mode == "celery"
               else "this process (inline)")
    print(f"sent by: {senders}")
    print(f"CPU of the sending process(es) per message: verbatim {ours.cpu / count * 1000:.2f} ms, "
          f"raw {base.cpu / count * 1000:.2f} ms (the rest is waiting for PostgreSQL and the sink)")
    print(f"CPU of the sink per message: {ours.sink / count * 1000:.2f} ms during Verbatim's segments, "
          f"{base.sink / count * 1000:.2f} ms during raw's; PostgreSQL {ours.pg / count * 1000:.2f} ms; "
          f"whole machine {ours.busy / max(ours.total, 1e-9):.0%} busy during Verbatim's segments "
          f"({os.cpu_count()} cores)")
    print(f"WAL per message: {ours.wal_bytes / count:.0f} bytes, {ours.wal_fpi / count:.2f} full-page images "
          "(the whole server's, checkpoints included)")
    print(f"load average: {os.getloadavg()[0]:.1f} (figures are noisy on a shared machine)")
    whose = "the largest pool process's" if worker_mode == "celery" else "this process's"
    print(f"peak RSS ({whose}): {rss_before:.0f} MB before sending, {rss_after:.0f} MB after")
    durable = "durable commits" if settings.SEND_SYNCHRONOUS_COMMIT else "SEND_SYNCHRONOUS_COMMIT=off"
    print(f"RESULT dispatch {rate:.0f} msg/s = {rate / base_rate:.2f} x raw smtplib ({base_rate:.0f} msg/s), "
          f"{durable}; "
          f"{settings.SEND_LANES} lane(s) per send task, "
          f"{f'celery worker -c {args.concurrency}' if worker_mode == 'celery' else 'inline'}; "
          f"peak RSS {rss_after:.0f} MB (before sending {rss_before:.0f} MB); n={count}")


if __name__ == "__main__":
    main()
