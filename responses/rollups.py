"""Rollups written in the response's transaction, so dashboards cost O(days) instead of O(responses).

Two tables: ``responses.DailyRollup`` (account, survey, local day, channel: counts per score) and
``reports.SegmentRollup`` (account, survey, local day, property key, property value: counts per score)
for the properties in ``SEGMENT_KEYS``. ``record_change()`` is the one call the capture path makes.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction

from accounts import sql
from accounts.events import Gatherer
from accounts.models import Account
from responses.models import SCORE_COLUMNS, DailyRollup, Response

# Response properties rolled up per value (segment breakdowns and filters read them without raw rows).
# A fixed, documented set keeps each key's rows complete (every counted response adds one row per key,
# "" when it lacks the key) and the table small: these are low-cardinality by design; identifiers
# such as a ticket id are not. Adding a key needs ``rebuild_rollups`` for the past (docs/metrics.md).
SEGMENT_KEYS = ("channel", "agent", "store", "plan", "country")
SEGMENT_VALUE_MAX = 200
COLUMNS = [*SCORE_COLUMNS, "comments"]  # the counters of a rollup row, in order
# Every rollup key is split over SHARDS rows (a response counts in row ``id % SHARDS``; readers sum).
# Each answer's transaction holds its rollup rows locked until its commit, which waits for the WAL
# flush: with one row per day, concurrent respondents queued behind each other there (measured:
# nearly every waiting backend in pg_stat_activity). A response keeps its shard when it changes, so
# no row ever goes negative, and rebuild_rollups computes the same rows.
SHARDS = 16
logger = logging.getLogger("verbatim")
_local = threading.local()  # .registered: account id -> the on-commit list its bump was registered in


@functools.cache
def _database_token() -> str:
    """Which database this is (its OID): a recreated database (tests, a restore) reuses account ids, so
    the version keys must not outlive it in Redis. One query per process."""
    if connection.vendor != "postgresql":
        return "0"
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return str(cursor.fetchone()[0])


def rollup_version_key(account: Account) -> str:
    return f"rollups:v:{_database_token()}:{account.pk}:{account.created_at.timestamp():.6f}"


def bump_rollup_version(account: Account) -> None:
    """Tell cached report panels (``reports.cache``) that this account's rollups changed. Best effort: a
    lost bump leaves a panel stale for its TTL at most."""
    try:
        cache.set(rollup_version_key(account), time.time_ns(), timeout=None)
    except Exception:  # noqa: BLE001 - the cache must never fail a response
        logger.warning("rollup version bump failed for account %s", account.pk, exc_info=True)


def _bump_now_and_on_commit(account: Account) -> None:
    """Bump now (this process reads its own writes at once) and once more after the commit (a panel
    cached by another process between the two saw the old rows). One on-commit bump per transaction."""
    bump_rollup_version(account)
    if not connection.in_atomic_block:
        return
    registered = _local.__dict__.setdefault("registered", {})
    if registered.get(account.pk) is connection.run_on_commit:
        return  # already registered in this transaction (Django replaces the list when it ends)
    transaction.on_commit(lambda: bump_rollup_version(account), robust=True)
    registered[account.pk] = connection.run_on_commit


def _bump_each(accounts: dict[int, Account]) -> None:
    for account in accounts.values():
        bump_rollup_version(account)


# Version bumps after writes that committed on their own (the capture's one-statement path), one per
# account per window; a lost bump leaves a panel stale for its TTL at most.
_bumper = Gatherer("verbatim-rollup-bumper", _bump_each)


def bump_after_write(account: Account) -> None:
    """The rollups of ``account`` changed: bump now and after the commit inside a transaction, else
    (the write already committed) soon, from the background thread."""
    if connection.in_atomic_block:
        _bump_now_and_on_commit(account)
    else:
        _bumper.submit(account.pk, account)


def rollup_day(account: Account, moment: datetime) -> date:
    """The day a response counts for: its creation date in the account's time zone."""
    return moment.astimezone(account.tz).date()


def segment_value(properties: dict[str, Any] | None, key: str) -> str:
    """A property value as the segment rollup stores it: text as is, numbers and booleans as JSON
    (as PostgreSQL's ``->>`` prints them), missing or null as ""; cut to 200 characters."""
    value = (properties or {}).get(key)
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:SEGMENT_VALUE_MAX]


def shard_of(response: Response) -> int:
    return response.pk % SHARDS


def apply_to_rollup(*, account: Account, survey_id: int, day: date, channel: str, score: int,
                    has_comment: bool, sign: int, shard: int = 0) -> None:
    """Add (sign=+1) or remove (sign=-1) one response from its rollup bucket, atomically: one upsert
    (hand-written: it runs in every respondent's transaction; the row is a hot one)."""
    column = SCORE_COLUMNS[score]
    comments = sign if has_comment else 0
    day_value = sql.prep(DailyRollup, "day", day)
    if sign < 0:
        sql.execute(f"UPDATE responses_dailyrollup SET {column} = {column} - 1, comments = comments - %s "  # noqa: S608
                    "WHERE account_id = %s AND survey_id = %s AND day = %s AND channel = %s AND shard = %s",
                    [-comments, account.pk, survey_id, day_value, channel, shard])
        return
    sql.execute(f"INSERT INTO responses_dailyrollup (account_id, survey_id, day, channel, shard, {column}, "  # noqa: S608
                f"comments, {', '.join(c for c in SCORE_COLUMNS if c != column)}) "
                f"VALUES (%s, %s, %s, %s, %s, 1, %s, {', '.join('0' for c in SCORE_COLUMNS if c != column)}) "
                "ON CONFLICT (account_id, survey_id, day, channel, shard) DO UPDATE SET "
                f"{column} = responses_dailyrollup.{column} + 1, comments = responses_dailyrollup.comments + %s",
                [account.pk, survey_id, day_value, channel, shard, comments, comments])


def _segment_table() -> str:
    # Looked up by name: the model lives in ``reports`` (which reads it), and ``responses`` must not import it.
    return apps.get_model("reports", "SegmentRollup")._meta.db_table


def apply_to_segment_rollups(*, account: Account,
                             deltas: dict[tuple[int, date, str, str, int], list[int]]) -> None:
    """Add each delta vector (s0..s10, comments) to its (survey, day, key, value, shard) row in one upsert.

    Rows are written in key order, so two transactions touching the same rows lock them in the same
    order (no deadlock)."""
    rows = [(k, d) for k, d in sorted(deltas.items()) if any(d)]
    if not rows:
        return
    table = _segment_table()
    columns = ", ".join(COLUMNS)
    one = "(" + ", ".join(["%s"] * (6 + len(COLUMNS))) + ")"
    params: list[Any] = []
    for (survey_id, day, key, value, shard), delta in rows:
        params += [account.pk, survey_id, day, key, value, shard, *delta]
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in COLUMNS)
    statement = (f"INSERT INTO {table} (account_id, survey_id, day, key, value, shard, {columns}) "  # noqa: S608
                 f"VALUES {', '.join([one] * len(rows))} "
                 f"ON CONFLICT (account_id, survey_id, key, day, value, shard) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _segment_deltas(account: Account, response: Response, sign: int,
                    into: dict[tuple[int, date, str, str, int], list[int]]) -> None:
    day = rollup_day(account, response.created_at)
    for key in SEGMENT_KEYS:
        delta = into.setdefault((response.survey_id, day, key, segment_value(response.properties, key),
                                 shard_of(response)), [0] * len(COLUMNS))
        delta[response.score] += sign
        if response.comment:
            delta[-1] += sign


def counted(response: Response) -> bool:
    return not response.suspected_bot


def bucket(response: Response) -> tuple:
    return (counted(response), response.survey_id, response.created_at, response.channel, response.score,
            bool(response.comment))


def segment_bucket(response: Response) -> tuple:
    return (*bucket(response), tuple(segment_value(response.properties, k) for k in SEGMENT_KEYS))


def record_change(*, account: Account, before: Response | None, after: Response | None) -> None:
    """Move one response between buckets: before is its state before the write, after its new state.

    Same transaction as the response; stable signature for the capture path (``responses.services``)."""
    if before is not None and after is not None and segment_bucket(before) == segment_bucket(after):
        return  # same buckets: nothing to move (and no lock taken on the hot rollup rows)
    if before is None or after is None or bucket(before) != bucket(after):
        if before is not None and counted(before):
            apply_to_rollup(account=account, survey_id=before.survey_id,
                            day=rollup_day(account, before.created_at), channel=before.channel,
                            score=before.score, has_comment=bool(before.comment), sign=-1,
                            shard=shard_of(before))
        if after is not None and counted(after):
            apply_to_rollup(account=account, survey_id=after.survey_id, day=rollup_day(account, after.created_at),
                            channel=after.channel, score=after.score, has_comment=bool(after.comment), sign=+1,
                            shard=shard_of(after))
    deltas: dict[tuple[int, date, str, str, int], list[int]] = {}
    if before is not None and counted(before):
        _segment_deltas(account, before, -1, deltas)
    if after is not None and counted(after):
        _segment_deltas(account, after, +1, deltas)
    apply_to_segment_rollups(account=account, deltas=deltas)
    if deltas:
        _bump_now_and_on_commit(account)


def _score_sums(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    sums = [f"count(*) FILTER (WHERE {prefix}score = {i})" for i in range(11)]
    return ", ".join([*sums, f"count(*) FILTER (WHERE {prefix}comment <> '')"])


@transaction.atomic
def rebuild_rollups(*, account: Account) -> int:
    """Recompute every rollup (daily and per segment) of an account from raw responses, in SQL on
    PostgreSQL (in Python elsewhere); returns the number of daily rollup rows."""
    DailyRollup.objects.filter(account=account).delete()
    table = _segment_table()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])  # noqa: S608
    daily = _rebuild_sql(account, table) if connection.vendor == "postgresql" else _rebuild_python(account)
    _bump_now_and_on_commit(account)
    return daily


def _rebuild_sql(account: Account, table: str) -> int:
    columns = ", ".join(COLUMNS)
    local_day = "(r.created_at AT TIME ZONE %(tz)s)::date"
    params = {"account": account.pk, "tz": account.time_zone, "keys": list(SEGMENT_KEYS),
              "cut": SEGMENT_VALUE_MAX, "shards": SHARDS}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DailyRollup._meta.db_table} (account_id, survey_id, day, channel, shard, {columns}) "  # noqa: S608
            f"SELECT r.account_id, r.survey_id, {local_day}, r.channel, mod(r.id, %(shards)s), {_score_sums('r')} "
            "FROM responses_response r WHERE r.account_id = %(account)s AND NOT r.suspected_bot "
            "GROUP BY r.account_id, r.survey_id, 3, r.channel, 5", params)
        daily = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} (account_id, survey_id, day, key, value, shard, {columns}) "  # noqa: S608
            f"SELECT r.account_id, r.survey_id, {local_day}, k.key, "
            "left(coalesce(r.properties ->> k.key, ''), %(cut)s), mod(r.id, %(shards)s), " + _score_sums('r') + " "
            "FROM responses_response r CROSS JOIN unnest(%(keys)s::text[]) AS k(key) "
            "WHERE r.account_id = %(account)s AND NOT r.suspected_bot "
            "GROUP BY r.account_id, r.survey_id, 3, k.key, 5, 6", params)
    return daily


def _rebuild_python(account: Account) -> int:
    """The same rows as ``_rebuild_sql``, computed in Python (SQLite has no AT TIME ZONE)."""
    daily: dict[tuple[int, date, str, int], list[int]] = {}
    segments: dict[tuple[int, date, str, str, int], list[int]] = {}
    rows = (Response.objects.filter(account=account, suspected_bot=False)
            .values_list("pk", "survey_id", "created_at", "channel", "score", "comment", "properties")
            .iterator(chunk_size=5000))
    for pk, survey_id, created_at, channel, score, comment, properties in rows:
        day, shard = rollup_day(account, created_at), pk % SHARDS
        buckets = [daily.setdefault((survey_id, day, channel, shard), [0] * len(COLUMNS))]
        buckets += [segments.setdefault((survey_id, day, key, segment_value(properties, key), shard),
                                        [0] * len(COLUMNS)) for key in SEGMENT_KEYS]
        for counts in buckets:
            counts[score] += 1
            counts[-1] += 1 if comment else 0
    DailyRollup.objects.bulk_create(
        [DailyRollup(account=account, survey_id=survey_id, day=day, channel=channel, shard=shard,
                     **dict(zip(COLUMNS, counts, strict=True)))
         for (survey_id, day, channel, shard), counts in daily.items()], batch_size=1000)
    model = apps.get_model("reports", "SegmentRollup")
    model.objects.bulk_create(
        [model(account=account, survey_id=survey_id, day=day, key=key, value=value, shard=shard,
               **dict(zip(COLUMNS, counts, strict=True)))
         for (survey_id, day, key, value, shard), counts in segments.items()], batch_size=1000)
    return len(daily)
