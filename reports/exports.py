"""Exports: the responses list (CSV streamed, XLSX) with all answers and properties, and chart tables."""
from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from accounts.scoping import account_scope
from responses.models import Answer, Response
from surveys.models import Question, Survey

BASE_COLUMNS = ["id", "survey", "score", "group", "comment", "source", "locale", "tags", "created_at",
                "updated_at", "person_email", "person_name"]
CHUNK = 2000


class Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


def _answer_text(value: Any, other: str) -> str:
    if isinstance(value, list):
        text = "; ".join(str(v) for v in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = "" if value is None else str(value)
    return f"{text}; other: {other}" if other else text


def property_keys_of(responses: QuerySet[Response]) -> list[str]:
    """Every property name used by the exported rows (PostgreSQL lists them in the database)."""
    if connection.vendor == "postgresql":
        try:
            sql, params = responses.order_by().values("properties").query.sql_with_params()
        except EmptyResultSet:
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT jsonb_object_keys(sub.properties) FROM ({sql}) sub "  # noqa: S608
                           "WHERE jsonb_typeof(sub.properties) = 'object'", params)
            return sorted(str(row[0]) for row in cursor.fetchall())
    keys: dict[str, None] = {}
    for props in responses.order_by().values_list("properties", flat=True).iterator(chunk_size=CHUNK):
        for key in props or {}:
            keys[str(key)] = None
    return sorted(keys)


def export_columns(responses: QuerySet[Response]) -> tuple[list[str], list[Question], list[str]]:
    """Header, the questions (one column each) and property keys (one column each) of an export."""
    survey_ids = list(responses.order_by().values_list("survey_id", flat=True).distinct())
    questions = list(Question.objects.filter(survey_id__in=survey_ids).select_related("survey")
                     .order_by("survey_id", "position", "pk"))
    prop_keys = property_keys_of(responses)
    header = BASE_COLUMNS + [f"Q{q.pk}: {q.text}" for q in questions] + [f"property: {k}" for k in prop_keys]
    return header, questions, prop_keys


FIELDS = ("id", "survey_id", "score", "comment", "channel", "locale", "tags", "created_at", "updated_at",
          "person__email", "person__name", "properties", "account_id")


def export_rows(responses: QuerySet[Response]) -> Iterator[list[Any]]:
    """Header first, then one row per response in id order; pages of 2000 by keyset (flat memory)."""
    header, questions, prop_keys = export_columns(responses)
    yield header
    question_index = {q.pk: i for i, q in enumerate(questions)}
    surveys = {s.pk: s for s in Survey.objects.filter(pk__in=responses.order_by().values("survey_id"))}
    qs = responses.order_by("id").values_list(*FIELDS)
    last_id = 0
    while True:
        page = list(qs.filter(id__gt=last_id)[:CHUNK])
        if not page:
            return
        answers: dict[int, list[str]] = {}
        for response_id, question_id, value, other in Answer.objects.filter(
                account_id=page[0][-1], response_id__in=[r[0] for r in page]).values_list(
                "response_id", "question_id", "value", "other_text"):
            if question_id in question_index:
                answers.setdefault(response_id, [""] * len(questions))[question_index[question_id]] = \
                    _answer_text(value, other)
        for (pk, survey_id, score, comment, channel, locale, tags, created, updated, email, name, props,
             _account) in page:
            survey = surveys[survey_id]
            props = props or {}
            yield [pk, survey.name, score, survey.group_of(score), comment, channel, locale,
                   ", ".join(map(str, tags or [])), created.isoformat(), updated.isoformat(), email or "", name or "",
                   *answers.get(pk, [""] * len(questions)),
                   *["" if props.get(k) is None else str(props.get(k)) for k in prop_keys]]
        last_id = page[-1][0]


def _safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def in_scope(account, rows: Callable[[], Iterator]) -> Iterator:
    """Iterate ``rows()`` inside the account's scope: a streaming body is read after the request's
    middleware (and its scope) have finished."""
    with account_scope(account):
        yield from rows()


def csv_lines(rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield "\ufeff"  # BOM: spreadsheet programs read UTF-8 correctly
    for row in rows:
        yield writer.writerow([_safe_cell(v) for v in row])


def xlsx_file(rows: Iterator[Sequence[Any]]) -> tempfile.SpooledTemporaryFile:
    """A write-only workbook (rows are not kept in memory), spooled to disk past 16 MB."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Responses")
    for row in rows:
        sheet.append([_safe_cell(v) for v in row])
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    workbook.save(out)
    out.seek(0)
    return out
