"""CSV import of people: upload, map columns, preview, then a background job with progress.

Bad rows are reported with their line number and reason; good rows are kept. Rows are upserted in
chunks (one statement per chunk on PostgreSQL), so a re-run of the same file changes nothing twice.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from surveys.models import Channel, Invitation, Person, PersonImport, Survey
from surveys.services.people import E164, upsert_person

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ERRORS_KEPT = 1000
CHUNK = 2000
IMPORT_LEASE = timedelta(minutes=10)
TARGETS = ("email", "name", "phone_number")
EMAIL_HEADERS = {"email", "e-mail", "email address", "e-mail address", "mail"}
NAME_HEADERS = {"name", "full name", "fullname", "full_name"}
PHONE_HEADERS = {"phone", "phone number", "phone_number", "mobile", "sms"}


def read_csv_text(raw: bytes) -> str:
    """The file as text: UTF-8 (with or without BOM); anything else is a clear error."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": _(
            "This file is not UTF-8 text (byte %(pos)d). In your spreadsheet, save it as \"CSV UTF-8\".")
            % {"pos": exc.start + 1}}) from exc


def read_header_and_preview(text: str, rows: int = 5) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise ValidationError({"file": _("The file is empty or not a CSV file.")}) from exc
    if not any(header):
        raise ValidationError({"file": _("The first line must name the columns.")})
    if len(set(header)) != len(header):
        raise ValidationError({"file": _("Two columns have the same name in the first line.")})
    preview = []
    for row in reader:
        preview.append(row)
        if len(preview) >= rows:
            break
    return header, preview


def guess_mapping(header: list[str]) -> dict[str, str]:
    mapping = {}
    for column in header:
        key = column.strip().lower()
        if key in EMAIL_HEADERS:
            mapping[column] = "email"
        elif key in NAME_HEADERS:
            mapping[column] = "name"
        elif key in PHONE_HEADERS:
            mapping[column] = "phone_number"
        else:
            mapping[column] = f"property:{column.strip()}"
    return mapping


def create_person_import(*, account: Account, upload: UploadedFile, user: Any = None) -> PersonImport:
    """Store an uploaded CSV and guess its column mapping; the import starts once mapped."""
    if upload.size and upload.size > MAX_FILE_BYTES:
        raise ValidationError({"file": _("The file is larger than 50 MB; split it.")})
    raw = upload.read()
    header, _preview = read_header_and_preview(read_csv_text(raw))
    job = PersonImport(account=account, created_by=user if getattr(user, "pk", None) else None,
                       filename=(upload.name or "people.csv")[:255], mapping=guess_mapping(header))
    job.file.save(f"{account.pk}-{timezone.now():%Y%m%d%H%M%S}.csv", ContentFile(raw), save=False)
    job.save()
    return job


def import_preview(job: PersonImport) -> tuple[list[str], list[list[str]]]:
    with job.file.open("rb") as fh:
        return read_header_and_preview(read_csv_text(fh.read()))


def start_person_import(*, job: PersonImport, mapping: dict[str, str], send_survey: Survey | None = None,
                        send_at: datetime | None = None) -> PersonImport:
    """Confirm the mapping and queue the background import (and, optionally, a send to everyone imported)."""
    from accounts.tasks_util import enqueue_on_commit
    from surveys import tasks

    if job.status != PersonImport.Status.MAPPING:
        raise ValidationError({"mapping": _("This import has already started.")})
    with job.file.open("rb") as fh:
        text = read_csv_text(fh.read())
    header, _preview = read_header_and_preview(text)
    clean: dict[str, str] = {}
    for column in header:
        target = (mapping.get(column) or "").strip()
        if target and target not in TARGETS and not (target.startswith("property:") and len(target) > 9):
            raise ValidationError({"mapping": _("Unknown target for column %(c)s.") % {"c": column}})
        clean[column] = target
    targets = [t for t in clean.values() if t in TARGETS]
    if "email" not in targets:
        raise ValidationError({"mapping": _("Choose the column that holds the email address.")})
    duplicated = {t for t in targets if targets.count(t) > 1}
    if duplicated:
        raise ValidationError({"mapping": _("Only one column can be %(t)s.") % {"t": ", ".join(sorted(duplicated))}})
    if send_survey is not None:
        if send_survey.account_id != job.account_id:
            raise ValidationError({"send_survey": _("Unknown survey.")})
        if send_survey.status != Survey.Status.ACTIVE:
            raise ValidationError({"send_survey": _("This survey is paused or archived.")})
        # The same per-request cap as "send now" (EM-28), checked before anything is imported or queued.
        from surveys.services.quotas import check_recipient_cap

        check_recipient_cap(job.account, count_import_recipients(text=text, mapping=clean), field="send_survey")
    with transaction.atomic():
        job.mapping, job.send_survey, job.send_at = clean, send_survey, send_at
        job.status = PersonImport.Status.PENDING
        job.save(update_fields=["mapping", "send_survey", "send_at", "status"])
        enqueue_on_commit(tasks.run_person_import, job.account_id, job.pk)
    return job


def count_import_recipients(*, text: str, mapping: dict[str, str]) -> int:
    """How many people an import with this mapping would send to: distinct valid addresses (the rows
    ``run_person_import`` would keep; a phone number another person holds may still drop one)."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    columns = [(i, mapping[col]) for i, col in enumerate(header) if mapping.get(col)]
    emails: set[str] = set()
    try:
        for row in reader:
            try:
                emails.add(_clean_row(row, columns)["email"])
            except ValueError:
                continue
    except csv.Error:
        pass  # the import stops at the same place
    return len(emails)


def _claim_import(account: Account, import_id: int) -> PersonImport | None:
    now = timezone.now()
    claimed = account.person_imports.filter(
        Q(status=PersonImport.Status.PENDING) | Q(status=PersonImport.Status.RUNNING, lease_until__lt=now),
        pk=import_id).update(status=PersonImport.Status.RUNNING, lease_until=now + IMPORT_LEASE)
    return account.person_imports.get(pk=import_id) if claimed == 1 else None


def _clean_row(row: list[str], columns: list[tuple[int, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {"email": None, "name": "", "phone_number": None, "properties": {}}
    for index, target in columns:
        value = row[index].strip() if index < len(row) else ""
        if target.startswith("property:"):
            if value:
                data["properties"][target[9:]] = value[:1000]
        elif target == "email":
            data["email"] = value.lower() or None
        elif target == "phone_number":
            data["phone_number"] = value or None
        else:
            data["name"] = value[:255]
    if not data["email"]:
        raise ValueError(_("no email address"))
    try:
        validate_email(data["email"])
    except ValidationError:
        raise ValueError(_("invalid email address %(e)s") % {"e": data["email"][:100]}) from None
    if data["phone_number"] and not E164.match(data["phone_number"]):
        raise ValueError(_("invalid phone number (use +14155551212)"))
    return data


UPSERT_SQL = """
INSERT INTO {table} (account_id, email, phone_number, name, properties, created_at, updated_at)
SELECT %(account)s, t.email, t.phone, t.name, t.props::jsonb, %(now)s, %(now)s
FROM verbatim_import_rows AS t
ON CONFLICT (account_id, email) WHERE email IS NOT NULL DO UPDATE SET
  name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE {table}.name END,
  phone_number = COALESCE(EXCLUDED.phone_number, {table}.phone_number),
  properties = {table}.properties || EXCLUDED.properties,
  updated_at = EXCLUDED.updated_at
RETURNING id, (xmax = 0)
"""


def _upsert_chunk(account: Account, rows: list[tuple[int, dict[str, Any]]],
                  errors: list[tuple[int, str]]) -> tuple[list[int], int, int]:
    """Upsert rows; returns (person ids, created, updated). Falls back to row by row on a conflict."""
    if not rows:
        return [], 0, 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # COPY the chunk into a session temp table, then one upsert statement from it
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS verbatim_import_rows "
                               "(email text, phone text, name text, props text) ON COMMIT DELETE ROWS")
                cursor.execute("DELETE FROM verbatim_import_rows")  # when nested in an outer transaction
                with cursor.copy("COPY verbatim_import_rows FROM STDIN") as copy:
                    for _line, d in rows:
                        copy.write_row((d["email"], d["phone_number"], d["name"], json.dumps(d["properties"])))
                cursor.execute(UPSERT_SQL.format(table=Person._meta.db_table), {"account": account.pk, "now": now})
                result = cursor.fetchall()
            created = sum(1 for _id, inserted in result if inserted)
            return [pid for pid, _inserted in result], created, len(result) - created
        except IntegrityError:  # e.g. a phone number another person has: find the row(s) one by one
            pass
    ids, created, updated = [], 0, 0
    for line, data in rows:
        try:
            person, was_created = upsert_person(account=account, **data)
        except ValidationError as exc:
            errors.append((line, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())))
            continue
        except IntegrityError:
            errors.append((line, _("phone number belongs to another person")))
            continue
        ids.append(person.pk)
        created += was_created
        updated += not was_created
    return ids, created, updated


def _schedule_for(job: PersonImport, person_ids: list[int]) -> None:
    survey = job.send_survey
    if survey is None or not person_ids:
        return
    when = job.send_at or timezone.now()
    Invitation.objects.bulk_create(
        [Invitation(account_id=job.account_id, survey=survey, person_id=pid, channel=Channel.EMAIL,
                    scheduled_at=when, dedupe_key=f"import-{job.pk}") for pid in person_ids],
        ignore_conflicts=True)  # the dedupe key makes a re-run of this import schedule nothing new


def run_person_import(*, account: Account, import_id: int) -> PersonImport | None:
    """The background import: every good row upserted, every bad one reported, progress saved per chunk."""
    job = _claim_import(account, import_id)
    if job is None:
        return None  # another worker has it, or it is finished
    try:
        with job.file.open("rb") as fh:
            text = read_csv_text(fh.read())
    except (ValidationError, OSError) as exc:
        account.person_imports.filter(pk=job.pk).update(status=PersonImport.Status.FAILED, errors=[
            {"line": 0, "reason": str(exc)}], error_count=1, finished_at=timezone.now())
        return job
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    columns = [(i, job.mapping.get(col, "")) for i, col in enumerate(header) if job.mapping.get(col)]
    total = max(text.count("\n") - 1 + (0 if text.endswith("\n") else 1), 0)
    account.person_imports.filter(pk=job.pk).update(total_rows=total, processed_rows=0)
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    processed = created = updated = 0
    chunk: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        nonlocal created, updated
        ids, c, u = _upsert_chunk(account, chunk, errors)
        created, updated = created + c, updated + u
        _schedule_for(job, ids)
        chunk.clear()
        account.person_imports.filter(pk=job.pk).update(
            processed_rows=processed, created_count=created, updated_count=updated,
            error_count=len(errors), lease_until=timezone.now() + IMPORT_LEASE)

    try:
        for row in reader:
            processed += 1
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            try:
                data = _clean_row(row, columns)
            except ValueError as exc:
                errors.append((line, str(exc)))
                continue
            if data["email"] in seen:
                errors.append((line, _("duplicate of line %(n)d") % {"n": seen[data["email"]]}))
                continue
            seen[data["email"]] = line
            chunk.append((line, data))
            if len(chunk) >= CHUNK:
                flush()
    except csv.Error as exc:
        errors.append((reader.line_num, _("unreadable CSV: %(e)s") % {"e": exc}))
    flush()
    account.person_imports.filter(pk=job.pk).update(
        status=PersonImport.Status.DONE, total_rows=processed, processed_rows=processed,
        errors=[{"line": line, "reason": reason} for line, reason in errors[:MAX_ERRORS_KEPT]],
        error_count=len(errors), lease_until=None, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def stale_imports() -> list[tuple[int, int]]:
    """(account id, import id) of imports whose task was lost (never started, or lease expired)."""
    from accounts.scoping import cross_account

    now = timezone.now()
    with cross_account():  # the sweeper resumes imports of every account
        return list(PersonImport.objects.filter(
            Q(status=PersonImport.Status.PENDING, created_at__lt=now - timedelta(minutes=2))
            | Q(status=PersonImport.Status.RUNNING, lease_until__lt=now)).values_list("account_id", "pk"))
