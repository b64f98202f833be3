"""PostgreSQL: a respondent's first answer in two round trips, the door query and one write statement.

The general path (``responses.services``) reads the case settings and the follow-up rule in statements
of their own and writes the response, its answers, the person, the event, the rollups, the case and the
follow-up in five to seven statements inside a transaction. Here:

1. the door query (``services.invitation_for_token(..., capture=True)``) also returns the account's case
   context, the survey's follow-up rules and the next response id (``nextval``), so the response's id,
   rollup shard, case and follow-up are all decided in Python before anything is written;
2. one statement (data-modifying CTEs, no transaction of its own: one statement is atomic) inserts the
   response unless the invitation already has one, and, only if it did, its answers, the person's
   ``last_responded_at``, the ``response.created`` event, the daily and segment rollups, the case with
   its history row and ``case.created`` event, and the follow-up row.

Both statements have a fixed text (answers, segments and rows travel as JSON or arrays), so psycopg
binds them server-side and PostgreSQL plans each once per connection (``sql.fetchone_prepared``).
The rollup rows are locked in the general path's order (daily, then segments by key), so the two paths
never deadlock each other. The caller falls back to the general path when this returns None (the
invitation already has a response) or when the account has no case settings yet (first use).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.apps import apps
from django.db import models

from accounts import sql
from accounts.events import publish_on_commit
from responses import rollups
from responses.cases import CaseContext, context_columns_sql, context_from_json, plan_case
from responses.followups import plan_new_follow_up
from responses.models import Case, FollowUp, FollowUpRule, Response


@dataclass
class CaptureContext:
    """What the door query read for a first answer, besides the invitation: see the module docstring."""

    response_id: int
    case_context: CaseContext
    follow_up_rules: list[FollowUpRule]


@functools.cache
def door_columns_sql() -> str:
    """The columns the door query adds for a capture (``i`` is the invitation): the account's case context
    and the survey's follow-up rules as one JSON text, and the next response id."""
    return (f"json_build_array({context_columns_sql('i.account_id')}, "  # noqa: S608 (model metadata)
            "(SELECT json_agg(f ORDER BY f.id) FROM responses_followuprule f WHERE f.account_id = i.account_id "
            "AND (f.survey_id = i.survey_id OR f.survey_id IS NULL)))::text, "
            f"nextval(pg_get_serial_sequence('{Response._meta.db_table}', 'id'))")


DOOR_COLUMNS = 2
_EXTRAS_CACHE_SIZE = 256
_extras_cache: dict[str, tuple[CaseContext, list[FollowUpRule]]] = {}


def door_extras(values: tuple[Any, ...] | list[Any]) -> CaptureContext:
    """The ``CaptureContext`` from the door row's last ``DOOR_COLUMNS`` values.

    The rules and settings are built once per distinct JSON text and process (the text is the exact
    content, so an edit is a new key: nothing to invalidate); capture only reads them."""
    text, response_id = values
    built = _extras_cache.get(text)
    if built is None:
        *case_columns, follow_up_rules = json.loads(text)
        built = (context_from_json(*case_columns), [sql.from_json(FollowUpRule, r) for r in follow_up_rules or []])
        if len(_extras_cache) >= _EXTRAS_CACHE_SIZE:
            _extras_cache.clear()
        _extras_cache[text] = built
    return CaptureContext(response_id=response_id, case_context=built[0], follow_up_rules=built[1])


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


@functools.cache
def _row_layout(model: type[models.Model], with_pk: bool) -> tuple[tuple[str, str, models.Field | None], ...]:
    """(column, attname, the field when its ``pre_save`` is its own, e.g. ``auto_now``) per concrete field."""
    return tuple((f.column, f.attname, f if type(f).pre_save is not models.Field.pre_save else None)
                 for f in model._meta.concrete_fields if with_pk or not f.primary_key)


def row_json(obj: models.Model, *, with_pk: bool = False) -> str:
    """``obj`` as ``jsonb_populate_record`` reads it: column -> value, as an INSERT would write them."""
    values = obj.__dict__
    return json.dumps({column: _json_value(values[attname] if field is None or field.primary_key
                                           else field.pre_save(obj, True))
                       for column, attname, field in _row_layout(type(obj), with_pk)})


def _populated(model: type[models.Model], param: str) -> str:
    """``model``'s row from the JSON parameter ``param``, its id from the table's sequence unless given."""
    table = model._meta.db_table
    return (f"jsonb_populate_record(NULL::{table}, jsonb_build_object('id', "
            f"nextval(pg_get_serial_sequence('{table}', 'id'))) || %({param})s::jsonb) r")


@functools.cache
def write_sql(with_case: bool, with_follow_up: bool) -> str:
    """The one write statement (see the module docstring); its result row: response id, event id, the
    rollup rows touched (daily, segments), and with a case the case id and its event id."""
    segments = apps.get_model("reports", "SegmentRollup")._meta.db_table
    counters = ", ".join(rollups.COLUMNS)
    keys = ", ".join(f"'{key}'" for key in sorted(rollups.SEGMENT_KEYS))  # constants of ours, not input
    vector = ", ".join(f"x.v[{i + 1}]" for i in range(len(rollups.COLUMNS)))

    add = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in rollups.COLUMNS)
    parts = [  # the response's id is given (the door's nextval): no sequence call here
        f"resp AS (INSERT INTO {Response._meta.db_table} SELECT r.* "  # noqa: S608 (model metadata)
        f"FROM jsonb_populate_record(NULL::{Response._meta.db_table}, %(response)s::jsonb) r "
        "ON CONFLICT (invitation_id) DO NOTHING RETURNING id, account_id)",
        "x AS (SELECT %(vector)s::int[] AS v)",
        "ans AS (INSERT INTO responses_answer (account_id, response_id, question_id, value, other_text, updated_at) "
        "SELECT resp.account_id, resp.id, a.q, a.v, a.o, %(now)s FROM resp, "
        "jsonb_to_recordset(%(answers)s::jsonb) AS a(q bigint, v jsonb, o text))",
        "per AS (UPDATE surveys_person p SET last_responded_at = %(now)s FROM resp "
        "WHERE p.id = %(person)s AND p.account_id = resp.account_id)",
        "ev AS (INSERT INTO accounts_event (account_id, kind, payload, status, attempts, created_at) "
        "SELECT resp.account_id, 'response.created', jsonb_build_object('response_id', resp.id), 'pending', 0, "
        "%(now)s FROM resp RETURNING id)",
        f"daily AS (INSERT INTO responses_dailyrollup AS t (account_id, survey_id, day, channel, shard, {counters}) "  # noqa: S608
        f"SELECT resp.account_id, %(survey)s, %(day)s, %(channel)s, %(shard)s, {vector} FROM resp, x "
        f"ON CONFLICT (account_id, survey_id, day, channel, shard) DO UPDATE SET {add} RETURNING 1)",
        f"seg AS (INSERT INTO {segments} AS t (account_id, survey_id, day, key, value, shard, {counters}) "  # noqa: S608
        f"SELECT resp.account_id, %(survey)s, %(day)s, k.key, v.value, %(shard)s, {vector} FROM resp, x, "
        f"unnest(ARRAY[{keys}]) WITH ORDINALITY AS k(key, n) "
        "JOIN jsonb_array_elements_text(%(values)s::jsonb) WITH ORDINALITY AS v(value, n) USING (n) ORDER BY n "
        f"ON CONFLICT (account_id, survey_id, key, day, value, shard) DO UPDATE SET {add} RETURNING 1)",
    ]
    result = ["resp.id", "ev.id", "(SELECT count(*) FROM daily)", "(SELECT count(*) FROM seg)"]
    if with_case:
        parts += [
            f"c AS (INSERT INTO {Case._meta.db_table} SELECT r.* FROM resp, {_populated(Case, 'case')} "  # noqa: S608 (model metadata)
            "RETURNING id)",
            "h AS (INSERT INTO responses_caseevent (account_id, case_id, kind, data, created_at) "
            "SELECT resp.account_id, c.id, 'opened', %(opened)s::jsonb, %(now)s FROM resp, c)",
            "cev AS (INSERT INTO accounts_event (account_id, kind, payload, status, attempts, created_at) "
            "SELECT resp.account_id, 'case.created', jsonb_build_object('case_id', c.id) || %(case_payload)s::jsonb, "
            "'pending', 0, %(now)s FROM resp, c RETURNING id)",
        ]
        result += ["(SELECT c.id FROM c)", "(SELECT cev.id FROM cev)"]
    if with_follow_up:
        parts.append(f"fu AS (INSERT INTO {FollowUp._meta.db_table} SELECT r.* FROM resp, "  # noqa: S608 (model metadata)
                     f"{_populated(FollowUp, 'follow_up')})")
    return f"WITH {', '.join(parts)} SELECT {', '.join(result)} FROM resp, ev"  # noqa: S608 (model metadata)


def first_answer(*, response: Response, capture: CaptureContext,
                 answers: dict[int, tuple[Any, str] | None], now: datetime) -> Response | None:
    """Write ``response`` (new, unsaved, counted, with an invitation and a person) and everything that
    goes with it in one statement; None, with nothing written, when the invitation already has one."""
    account = response.account
    response.pk = capture.response_id
    follow_up = plan_new_follow_up(response=response, rules=capture.follow_up_rules, now=now)
    planned = plan_case(response=response, context=capture.case_context, now=now)
    vector = [0] * len(rollups.COLUMNS)
    vector[response.score] = 1
    vector[-1] = 1 if response.comment else 0
    params: dict[str, Any] = {
        "response": row_json(response, with_pk=True), "now": now,
        "vector": "{" + ",".join(map(str, vector)) + "}",  # text: psycopg dumps a str faster than a list
        "answers": json.dumps([{"q": qid, "v": result[0], "o": result[1]}
                               for qid, result in answers.items() if result is not None]),
        "person": sql.Int8(response.person_id), "survey": sql.Int8(response.survey_id),
        "day": rollups.rollup_day(account, now), "channel": response.channel,
        "shard": sql.Int8(rollups.shard_of(response)),
        "values": json.dumps([rollups.segment_value(response.properties, k) for k in sorted(rollups.SEGMENT_KEYS)]),
    }
    if planned is not None:
        params |= {"case": row_json(planned.case), "opened": json.dumps(planned.opened),
                   "case_payload": json.dumps(planned.payload)}
    if follow_up is not None:
        params["follow_up"] = row_json(follow_up)
    row = sql.fetchone_prepared(write_sql(planned is not None, follow_up is not None), params)
    if row is None:
        response.pk = None
        return None
    sql.mark_saved(response, row[0])
    newest_event = row[1]
    if planned is not None:
        sql.mark_saved(planned.case, row[4])
        newest_event = max(newest_event, row[5])
    publish_on_commit(account.pk, newest_event)  # the account's earlier pending events ride along
    rollups.bump_after_write(account)
    return response
