"""Import a Delighted CSV export (responses, or people) into an account; idempotent when run twice.

Responses: each row becomes a Response of the chosen survey (channel "import") with its person,
score, comment, dates, tags, properties (every column we do not know) and answers (columns named
like one of the survey's extra questions). The row's "Response ID" is kept as the property
``Delighted Response ID``: a second import of the same file skips the rows it already has.
People: each row upserts a person (email, else phone) with name and properties.
"""
from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.jsonq import has_properties
from accounts.models import Account
from responses import rollups
from responses.models import Answer, Response
from responses.services import clean_answer, clean_comment, validate_score
from surveys.models import Channel, Person, Survey
from surveys.services import upsert_person

ID_PROPERTY = "Delighted Response ID"
MAX_ROWS = 200_000
COLUMNS = {  # lower-cased header -> our field
    "response id": "id", "id": "id", "survey response id": "id",
    "date": "created_at", "created at": "created_at", "response date": "created_at", "responded at": "created_at",
    "updated date": "updated_at", "updated at": "updated_at",
    "email": "email", "person email": "email", "email address": "email",
    "name": "name", "person name": "name",
    "phone number": "phone_number", "phone": "phone_number", "person phone number": "phone_number",
    "score": "score", "comment": "comment", "tags": "tags", "notes": "notes",
    "survey type": "ignored", "person id": "ignored", "permalink": "ignored", "last sent at": "last_sent_at",
    "last responded at": "ignored", "next survey scheduled at": "ignored", "created": "created_at",
}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M",
                "%m/%d/%Y")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped, "errors": self.errors}


def parse_when(value: str) -> datetime | None:
    """A Delighted export date ("2024-01-15 10:22:33 -0800", ISO 8601, or Unix seconds), aware."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdecimal():
        return datetime.fromtimestamp(int(value), tz=UTC)
    moment = parse_datetime(value.replace(" UTC", "+00:00"))
    if moment is None:
        for fmt in DATE_FORMATS:
            try:
                moment = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValidationError({"date": f"Unreadable date: {value[:40]}"})
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def read_rows(file: IO[bytes] | IO[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file, with a UTF-8 BOM tolerated."""
    raw = file.read()
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            raise ValidationError({"file": f"At most {MAX_ROWS} rows per import."})
        yield index, {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}


def _split(row: dict[str, str], questions: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[int, str]]:
    known, properties, answers = {}, {}, {}
    for header, value in row.items():
        target = COLUMNS.get(header.lower())
        if target == "ignored":
            continue
        if target:
            known[target] = value
        elif header.lower() in questions:
            if value:
                answers[questions[header.lower()].pk] = value
        elif value:
            properties[header[:100]] = value[:1000]
    return known, properties, answers


@transaction.atomic
def _import_response(*, account: Account, survey: Survey, known: dict[str, str], properties: dict[str, str],
                     answers: dict[int, str], questions: dict[int, Any]) -> str:
    delighted_id = known.get("id", "")
    if delighted_id:
        properties[ID_PROPERTY] = delighted_id
        if account.responses.filter(has_properties("properties", {ID_PROPERTY: delighted_id}), survey=survey).exists():
            return "skipped"
    score = validate_score(survey, known.get("score"))
    person = None
    if known.get("email") or known.get("phone_number"):
        person, _created = upsert_person(account=account, email=known.get("email") or None,
                                         phone_number=known.get("phone_number") or None, name=known.get("name"))
    created_at = parse_when(known.get("created_at", "")) or timezone.now()
    updated_at = parse_when(known.get("updated_at", "")) or created_at
    tags = [t.strip() for t in known.get("tags", "").split(",") if t.strip()]
    response = Response.objects.create(
        account=account, survey=survey, person=person, score=score, comment=clean_comment(known.get("comment")) or "",
        channel=Channel.IMPORT, properties=properties, locale=survey.locale, tags=tags, created_at=created_at,
        updated_at=updated_at, completed_at=updated_at)
    for question_id, raw in answers.items():
        question = questions[question_id]
        value = [v.strip() for v in raw.split(",")] if question.kind == "multiple" else raw
        cleaned = clean_answer(question, value)
        if cleaned is not None:
            Answer.objects.create(account=account, response=response, question=question, value=cleaned[0],
                                  other_text=cleaned[1], updated_at=updated_at)
    rollups.record_change(account=account, before=None, after=copy.copy(response))
    if person is not None and (person.last_responded_at is None or person.last_responded_at < created_at):
        Person.objects.filter(pk=person.pk).update(last_responded_at=created_at)
    return "created"


def import_responses(*, account: Account, survey: Survey, file: IO[bytes] | IO[str]) -> ImportResult:
    """Import a Delighted responses export into ``survey``; rows already imported are skipped."""
    if survey.account_id != account.pk:
        raise ValidationError({"survey": "Unknown survey."})
    result = ImportResult()
    questions = {q.text.strip().lower(): q for q in survey.questions.all()}
    by_id = {q.pk: q for q in questions.values()}
    for line, row in read_rows(file):
        known, properties, answers = _split(row, questions)
        try:
            outcome = _import_response(account=account, survey=survey, known=known, properties=properties,
                                       answers=answers, questions=by_id)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"row": exc.messages}
            result.errors.append({"line": line, "reason": "; ".join(f"{k}: {v[0]}" for k, v in messages.items())})
            continue
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def import_people(*, account: Account, file: IO[bytes] | IO[str]) -> ImportResult:
    """Import a Delighted people export: upsert by email (else phone); properties merge."""
    result = ImportResult()
    for line, row in read_rows(file):
        known, properties, _answers = _split(row, {})
        try:
            with transaction.atomic():
                before = account.people.filter(email=(known.get("email") or "").lower() or None).first() \
                    if known.get("email") else None
                person, created = upsert_person(account=account, email=known.get("email") or None,
                                                phone_number=known.get("phone_number") or None,
                                                name=known.get("name"), properties=properties)
                last_sent = parse_when(known.get("last_sent_at", ""))
                if last_sent and person.last_surveyed_at != last_sent:
                    Person.objects.filter(pk=person.pk).update(last_surveyed_at=last_sent)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"row": exc.messages}
            result.errors.append({"line": line, "reason": "; ".join(f"{k}: {v[0]}" for k, v in messages.items())})
            continue
        if created:
            result.created += 1
        elif before is not None and (before.name, before.properties) == (person.name, person.properties):
            result.skipped += 1
        else:
            result.updated += 1
    return result
