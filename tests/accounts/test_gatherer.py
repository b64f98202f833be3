"""accounts.events.Gatherer: its thread closes the database connection a flush opened.

The thread normally only publishes to the broker. A flush that ran a task eagerly (a test switching
the worker off while items were queued) used to leave the thread's own connection open for the life
of the process: the test database's leftover session at teardown.
"""
from __future__ import annotations

import time

import pytest
from celery import current_app
from django.db import connection

from accounts.events import Gatherer


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_the_thread_closes_the_connection_its_flush_opened(postgres_only, settings) -> None:
    settings.EVENT_PUBLISH_WINDOW_MS = 0
    backends: list[int] = []

    def flush(batch: dict) -> None:  # what an eager fan-out does: queries on this thread's connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(cursor.fetchone()[0])

    gatherer = Gatherer("test-gatherer", flush)
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False  # as with a real worker: the gatherer's thread flushes
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the app's conf alone is ignored (tests/conftest.py)
    try:
        gatherer.submit("key", 1)
        deadline = time.monotonic() + 10
        while not backends and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        current_app.conf.task_always_eager = eager
        settings.CELERY_TASK_ALWAYS_EAGER = True
    assert backends, "the gatherer's thread did not flush"
    assert backends[0] != connection.cursor().connection.info.backend_pid  # the thread's own connection
    deadline = time.monotonic() + 10
    while _backend_alive(backends[0]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _backend_alive(backends[0])
