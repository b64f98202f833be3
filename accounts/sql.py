"""Hand-written SQL for the few hot paths where the ORM's per-query compilation dominates.

The respondent's answer (``responses/services.py``) runs a dozen statements per request; built by
the ORM each costs about a millisecond of CPU before it reaches the database, more than the
database needs to run it. These helpers build the SQL once per model and column set, adapt
values the way the model fields do (``get_db_prep_save``) and turn rows back into model
instances the way the ORM does (``from_db`` plus the backend's converters), on PostgreSQL and
SQLite alike.

They bypass the tenant scope: every statement a caller writes names ``account_id`` itself
(the scope's rule, kept by hand). Use them only where a benchmark shows the ORM is the cost.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from psycopg.types.numeric import Int8Dumper

M = TypeVar("M", bound=models.Model)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(model._meta.concrete_fields)


@functools.cache  # built once per model and alias: the hot paths call it on every request
def select_list(model: type[models.Model], alias: str) -> str:
    """``alias."col1", alias."col2", ...`` for every concrete field, in ``_meta`` order."""
    return ", ".join(f"{alias}.{quote(f.column)}" for f in _fields(model))


def width(model: type[models.Model]) -> int:
    """How many columns ``select_list`` yields for ``model``."""
    return len(_fields(model))


_Layout = tuple[int, list[str], tuple[tuple[int, Any, tuple[Any, ...]], ...]]


@functools.cache
def _layout(model: type[models.Model], vendor: str) -> _Layout:
    """``model``'s pk position, attnames and, for the fields with database converters, (position, column,
    converters): built once per model and database vendor."""
    fields = _fields(model)
    converted = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(col)) + tuple(field.get_db_converters(connection))
        if converters:
            converted.append((i, col, converters))
    return [f.primary_key for f in fields].index(True), [f.attname for f in fields], tuple(converted)


def instance(model: type[M], row: Sequence[Any], offset: int = 0) -> M | None:
    """The ``model`` instance in ``row[offset:offset + width(model)]`` (None when its pk is NULL)."""
    db = connections[DEFAULT_DB_ALIAS]  # what ``connection`` stands for, looked up once
    pk_index, attnames, converted = _layout(model, db.vendor)
    values = list(row[offset:offset + len(attnames)])
    if values[pk_index] is None:
        return None
    for i, col, converters in converted:
        if values[i] is not None:
            for converter in converters:
                values[i] = converter(values[i], col, db)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


def instances(row: Sequence[Any], *models_in_row: type[models.Model]) -> tuple[list[Any], int]:
    """The instances of ``models_in_row`` laid out one after another from the start of ``row`` (each
    model's ``select_list``, in that order), and the position of the first column after them."""
    out, offset = [], 0
    for model in models_in_row:
        out.append(instance(model, row, offset))
        offset += width(model)
    return out, offset


def fetch_instances(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """Run ``sql`` (selecting ``select_list(model, alias)``) and build the instances."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [obj for row in cursor.fetchall() if (obj := instance(model, row)) is not None]


@functools.cache
def _insert_sql(model: type[models.Model], attnames: tuple[str, ...], rows: int, conflict: tuple[str, ...] = ()) -> str:
    by_attname = {f.attname: f for f in _fields(model)}
    cols = ", ".join(quote(by_attname[a].column) for a in attnames)
    one = "(" + ", ".join(["%s"] * len(attnames)) + ")"
    on_conflict = (f"ON CONFLICT ({', '.join(quote(by_attname[a].column) for a in conflict)}) DO NOTHING "
                   if conflict else "")
    return (f"INSERT INTO {quote(model._meta.db_table)} ({cols}) VALUES {', '.join([one] * rows)} "  # noqa: S608 (model metadata)
            f"{on_conflict}RETURNING {quote(model._meta.pk.column)}")


def insert(model: type[models.Model], rows: Iterable[dict[str, Any]], *, conflict: tuple[str, ...] = ()) -> list[int]:
    """INSERT rows (dicts of attname -> Python value, same keys in each) in one statement; their ids.

    ``conflict``: attnames of a unique constraint; a row that would break it is skipped
    (``ON CONFLICT DO NOTHING``) and has no id in the result."""
    rows = list(rows)
    if not rows:
        return []
    attnames = tuple(rows[0])
    by_attname = {f.attname: f for f in _fields(model)}
    params = [by_attname[a].get_db_prep_save(row[a], connection) for row in rows for a in attnames]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, attnames, len(rows), conflict), params)
        return [r[0] for r in cursor.fetchall()]


@functools.cache
def _field(model: type[models.Model], attname: str) -> models.Field:
    return next(f for f in _fields(model) if f.attname == attname)


def prep(model: type[models.Model], attname: str, value: Any) -> Any:
    """``value`` adapted for the database as ``model``'s field ``attname`` stores it."""
    return _field(model, attname).get_db_prep_save(value, connection)


class Int8(int):
    """An integer psycopg sends as ``bigint`` whatever its size, so a prepared statement keeps one set of
    parameter types (psycopg picks int2/int4/int8 by value, and each set is a statement of its own)."""


def fetchone_prepared(statement: str, params: dict[str, Any] | Sequence[Any]) -> tuple[Any, ...] | None:
    """PostgreSQL: run ``statement`` through psycopg's own cursor (server-side binding, a plan prepared once
    per connection; Django's cursor binds client-side and PostgreSQL plans every execution); its first row.

    For fixed statement texts on the hot paths only. Django's query log and execute wrappers do not see
    it; database errors surface as Django's (``wrap_database_errors``)."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params, prepare=True)
        return cursor.fetchone()


psycopg.adapters.register_dumper(Int8, Int8Dumper)


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement; returns the row count."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def save_new(objs: Sequence[M]) -> Sequence[M]:
    """INSERT new instances of one model in one statement (every concrete field but the pk, with
    ``pre_save`` as the ORM runs it) and set their pks. No signals are sent."""
    if not objs:
        return objs
    model = type(objs[0])
    rows = [row_values(obj) for obj in objs]
    for obj, pk in zip(objs, insert(model, rows), strict=True):
        mark_saved(obj, pk)
    return objs


def save_new_unless_conflict(obj: models.Model, conflict: tuple[str, ...]) -> bool:
    """INSERT one new instance unless a row with the same ``conflict`` attnames (a unique constraint)
    exists: True and its pk set when inserted, False when skipped (nothing written)."""
    ids = insert(type(obj), [row_values(obj)], conflict=conflict)
    if ids:
        mark_saved(obj, ids[0])
    return bool(ids)


def row_values(obj: models.Model) -> dict[str, Any]:
    """attname -> value of every concrete field but the pk, as an INSERT of ``obj`` would write them."""
    return {f.attname: f.pre_save(obj, True) for f in _fields(type(obj)) if not f.primary_key}


def mark_saved(obj: models.Model, pk: Any) -> None:
    """Record that ``obj`` now exists in the database with primary key ``pk``."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS  # ``connection`` is the default database's


def from_json(model: type[M], data: dict[str, Any]) -> M:
    """A ``model`` instance from a row PostgreSQL rendered as JSON (``row_to_json`` / ``json_agg``):
    every value goes through its field's ``to_python`` (times, dates and decimals arrive as text)."""
    values = {}
    for field in _fields(model):
        if field.column in data:
            value = data[field.column]
            values[field.attname] = value if value is None or field.get_internal_type() == "JSONField" \
                else field.to_python(value)
    obj = model(**values)
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS  # ``connection`` is the default database's
    return obj
