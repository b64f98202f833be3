"""Reads that feed the survey pages: people search and filters, CSV export, counts."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.jsonq import has_properties
from accounts.models import Account
from surveys.models import Person


def parse_property_filter(text: str) -> dict[str, str]:
    """``plan=pro, country=FI`` -> {"plan": "pro", "country": "FI"} (the people page's filter box)."""
    result = {}
    for part in (text or "").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            if key.strip():
                result[key.strip()] = value.strip()
    return result


def search_people(*, account: Account, q: str = "", properties: dict[str, Any] | None = None) -> QuerySet[Person]:
    people = account.people.all()
    if q:
        people = people.filter(Q(email__icontains=q.strip()) | Q(name__icontains=q.strip()))
    if properties:
        people = people.filter(has_properties("properties", properties))
    return people.order_by("-created_at", "-pk")


def property_keys(people: QuerySet[Person]) -> list[str]:
    if connection.vendor == "postgresql":
        sql, params = people.order_by().values("properties").query.sql_with_params()
        with connection.cursor() as cursor:
            # sql is Django's own compiled query; user input is only in params
            cursor.execute(f"SELECT DISTINCT jsonb_object_keys(properties) FROM ({sql}) AS p", params)  # noqa: S608
            return sorted(row[0] for row in cursor.fetchall())
    keys: set[str] = set()
    for props in people.values_list("properties", flat=True).iterator():
        keys.update(props or {})
    return sorted(keys)


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_people_csv(people: QuerySet[Person]) -> Iterator[str]:
    """CSV lines (streamed): email, name, phone, created, then one column per property."""
    keys = property_keys(people)
    writer = csv.writer(_Echo())
    yield writer.writerow(["email", "name", "phone_number", "created_at", *keys])
    for person in people.order_by("pk").iterator(chunk_size=2000):
        props = person.properties or {}
        row = [person.email or "", person.name, person.phone_number or "", person.created_at.isoformat(),
               *[props.get(k, "") for k in keys]]
        # a cell starting with = + - @ would run as a formula in a spreadsheet
        yield writer.writerow([("'" + str(c)) if str(c)[:1] in ("=", "+", "-", "@") else c for c in row])
