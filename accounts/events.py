"""The lowest layer of the event outbox: the ``Event`` row and ``emit_event()``.

Any app emits in its own transaction without importing ``integrations``; after commit the fan-out
task named ``integrations.fan_out_event`` (when that app registers it) delivers the event. If the
broker is down the row stays ``pending`` and the integrations sweeper picks it up.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone

from accounts import sql
from accounts.scoping import TenantManager

if TYPE_CHECKING:
    from accounts.models import Account

logger = logging.getLogger("verbatim")

FAN_OUT_TASK = "integrations.fan_out_event"


class Event(models.Model):
    """A domain event (``response.created``...), written in the transaction of the change."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    # No index of its own: (account, kind, created_at) leads with it (one index entry less per event).
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        app_label = "accounts"
        indexes = [
            models.Index(fields=["account", "kind", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


def _publish(event_id: int, account_id: int) -> None:
    from celery import current_app

    task = current_app.tasks.get(FAN_OUT_TASK)
    if task is None:  # integrations not wired yet: the row is simply stored
        return
    try:
        task.delay(account_id, event_id)
    except Exception:  # broker down: the sweeper republishes pending events
        logger.warning("could not publish event %s; the sweeper will retry", event_id, exc_info=True)


def emit_event(account: Account, kind: str, payload: dict[str, Any]) -> Event:
    """Write an Event row in the caller's transaction; fan it out after commit."""
    event = Event(account=account, kind=kind, payload=payload)
    sql.save_new([event])  # a raw INSERT: the outbox write is on the respondent's hot path
    publish_on_commit(account.pk, event.pk)
    return event


class _Batch:
    """The events one transaction emitted, per account: published as one task after the commit.

    The fan-out of an event also claims the account's earlier pending events (``pk <= event_id``,
    integrations.services.fanout), so publishing the newest id of each account covers them all: a
    detractor's ``response.created`` and ``case.created`` cost one broker message, not two."""

    def __init__(self) -> None:
        self.newest: dict[int, int] = {}
        self.ran = False

    def add(self, account_id: int, event_id: int) -> None:
        self.newest[account_id] = max(event_id, self.newest.get(account_id, 0))

    def __call__(self) -> None:
        self.ran = True
        for account_id, event_id in self.newest.items():
            _publisher.submit(account_id, event_id)


class Gatherer:
    """Runs ``flush(batch)`` from a thread of its own, so a request does not wait for it, and gathers
    what arrives within ``EVENT_PUBLISH_WINDOW_MS`` into one batch (``key -> value``, values of one key
    combined with ``merge``): under load one call then covers many answers of an account. With eager
    tasks (tests, a laptop without Redis) ``flush`` runs inline. Losing the queue (the process dies)
    must cost nothing that matters: see each user."""

    def __init__(self, name: str, flush: Callable[[dict[Any, Any]], None],
                 merge: Callable[[Any, Any], Any] = lambda _old, new: new) -> None:
        self.name, self.flush, self.merge = name, flush, merge
        self.pid = 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()

    def submit(self, key: Any, value: Any) -> None:
        from celery import current_app

        if current_app.conf.task_always_eager:
            self.flush({key: value})
            return
        if self.pid != os.getpid():  # first use in this process (after a fork: a thread of its own)
            with self.lock:
                if self.pid != os.getpid():
                    self.queue = queue.SimpleQueue()
                    threading.Thread(target=self.run, args=(self.queue,), name=self.name, daemon=True).start()
                    self.pid = os.getpid()
        self.queue.put((key, value))

    def run(self, items: queue.SimpleQueue[tuple[Any, Any]]) -> None:
        while True:
            key, value = items.get()
            batch = {key: value}
            time.sleep(settings.EVENT_PUBLISH_WINDOW_MS / 1000)
            while True:
                try:
                    key, value = items.get_nowait()
                except queue.Empty:
                    break
                batch[key] = self.merge(batch[key], value) if key in batch else value
            try:
                self.flush(batch)
            finally:
                # A flush normally only talks to the broker; one that ran a task eagerly (tests switching
                # the worker off) opened this thread's own database connection, which nothing else closes.
                connections.close_all()


def _publish_newest(newest: dict[int, int]) -> None:
    for account_id, event_id in newest.items():
        _publish(event_id, account_id)


# Fan-out messages: the newest event id of each account covers its earlier pending events (the fan-out
# claims ``pk <= event_id``), so a burst costs one broker message per account (a kombu publish is about
# 1 ms of CPU; without the window it took 13 % of a capture worker's CPU). A lost queue loses nothing:
# the rows are committed and ``pending``, and the integrations sweeper republishes them
# (``EVENT_SWEEP_AFTER_SECONDS``).
_publisher = Gatherer("verbatim-event-publisher", _publish_newest, merge=max)


def publish_on_commit(account_id: int, event_id: int) -> None:
    """Fan out an Event row written by hand-made SQL (``emit_event`` does this itself) after commit."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and connection.run_on_commit:
        func = connection.run_on_commit[-1][1]  # the batch this write just registered, not an older one
        if isinstance(func, _Batch) and not func.ran:
            func.add(account_id, event_id)
            return
    batch = _Batch()
    batch.add(account_id, event_id)
    transaction.on_commit(batch, robust=True)
