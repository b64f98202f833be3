"""Shared fixtures: the acme/globex accounts and their people, a real SMTP sink, a real Celery worker.

Accounts: ``acme`` and ``globex``. Users: ``alice`` (acme admin), ``carol`` (acme member),
``bob`` (acme viewer), ``mallory`` (globex admin): every view/endpoint test file has a mallory test.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection

from accounts.models import Role
from config.celery import app as celery_app
from tests.factories import AccountFactory, MembershipFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _eager_tasks_and_locmem_cache(settings):
    """Tests run tasks in-process unless they ask for the real worker (``celery_worker``)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    yield
    celery_app.conf.task_always_eager = previous
    if isinstance(caches["default"], LocMemCache):
        # SQLite hands the same ids to the next test's rows: a per-process cache keyed by ids
        # (honeypot marks, rate-limit counters) must not carry over. PostgreSQL never reuses ids,
        # and a shared Redis database is never flushed here (the broker may live in it).
        caches["default"].clear()
    from surveys.services.sending import close_lane_connections

    close_lane_connections()  # send lanes keep database connections between batches: none outlives a test


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus: before it is dropped, end any session still connected
    to it (a subprocess's or a thread's late connection made the drop fail now and then: "database
    is being accessed by other users"). Each one ended is named in a warning (the warnings summary),
    to find its owner."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pid, application_name, state, left(query, 120), backend_start FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        for pid, application, state, query, started in cursor.fetchall():
            threads = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
            warnings.warn(f"ending a leftover session of the test database: pid {pid}, application "
                          f"{application!r}, {state}, last query {query!r}, connected at {started:%H:%M:%S}; "
                          f"threads of this process still alive: {threads}", stacklevel=1)
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.close()


@pytest.fixture
def acme(db):
    return AccountFactory(name="Acme", slug="acme", sender_email="feedback@acme.example")


@pytest.fixture
def globex(db):
    return AccountFactory(name="Globex", slug="globex", sender_email="feedback@globex.example")


@pytest.fixture
def alice(acme):
    return MembershipFactory(account=acme, user=UserFactory(username="alice@acme.example"), role=Role.ADMIN).user


@pytest.fixture
def carol(acme):
    return MembershipFactory(account=acme, user=UserFactory(username="carol@acme.example"), role=Role.MEMBER).user


@pytest.fixture
def bob(acme):
    return MembershipFactory(account=acme, user=UserFactory(username="bob@acme.example"), role=Role.VIEWER).user


@pytest.fixture
def mallory(globex):
    return MembershipFactory(account=globex, user=UserFactory(username="mallory@globex.example"),
                             role=Role.ADMIN).user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []
        self.connections = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self.connections = 0

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages at the SMTP sink, got {len(self.messages)}")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def smtp_sink_server():
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def smtp_sink(smtp_sink_server, settings):
    """Mail from this test process goes to the real SMTP sink."""
    smtp_sink_server.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield smtp_sink_server
    smtp_sink_server.clear()


def database_url_for_subprocess() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerProcess:
    """A real ``celery worker`` subprocess on Redis, using the test database and the SMTP sink."""

    def __init__(self, queue: str, env: dict[str, str], concurrency: int = 2) -> None:
        self.queue, self.env, self.concurrency = queue, env, concurrency
        self.proc: subprocess.Popen | None = None
        self.log = ROOT / ".pytest-artifacts" / f"worker-{queue}.log"

    def start(self) -> None:
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queue, "-c",
             str(self.concurrency), "-l", "info", "--without-gossip", "--without-mingle",
             "-n", f"{self.queue}@%h"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited: see {self.log}")
            replies = celery_app.control.ping(destination=[f"{self.queue}@{socket.gethostname()}"], timeout=0.5)
            if replies:
                return
        raise RuntimeError(f"celery worker did not answer ping in 60 s: see {self.log}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def postgres_only() -> None:
    """For tests of PostgreSQL behaviour (row locks under concurrent connections): SQLite serializes
    writers and answers "database is locked" instead."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): concurrent writers on one database")


@pytest.fixture(scope="session")
def worker_env(django_db_setup, smtp_sink_server):
    """Environment for subprocesses (worker, live server) that must share the test database."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL (a real Redis broker); CI sets it")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): the worker shares the test database")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "EMAIL_URL": smtp_sink_server.url,
        "CELERY_QUEUE": queue,
        "VERBATIM_ENV": "test",
        "OUTBOUND_ALLOW_LOOPBACK": "1",
        "DB_APPLICATION_NAME": "verbatim-worker",
    }
    env.pop("ANYMAIL_ESP", None)
    return env


@pytest.fixture(scope="session")
def celery_worker_process(worker_env):
    """One real Celery worker for the session. Tests using it need ``transactional_db``."""
    queue = worker_env["CELERY_QUEUE"]
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = WorkerProcess(queue, worker_env)
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_default_queue = previous_queue


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db, smtp_sink, settings):
    """Publish tasks to the real worker for this test (no eager execution)."""
    # Celery reads CELERY_* keys from Django settings before its own conf: assigning
    # celery_app.conf.task_always_eager alone is ignored, so set the Django settings too.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = celery_worker_process.queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = celery_worker_process.queue
    yield celery_worker_process
    celery_app.conf.task_always_eager = True
