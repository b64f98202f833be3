"""JSON filters that work on PostgreSQL (indexed ``@>``) and on SQLite (the embedded default).

Django's ``__contains`` on a JSONField is PostgreSQL-only: on SQLite it raises NotSupportedError,
which turned people filters, tag filters and segment sends into 500s on a newcomer's laptop.
"""
from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.db.models import Q


def has_properties(field: str, properties: dict[str, Any]) -> Q:
    """Rows whose JSON object ``field`` holds every key with exactly that value."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": properties})
    q = Q()
    for key, value in properties.items():
        q &= Q(**{f"{field}__{key}": value})
    return q


def has_tags(field: str, tags: list[str]) -> Q:
    """Rows whose JSON list of strings ``field`` holds every tag (exact elements, not substrings)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": list(tags)})
    q = Q()
    for tag in tags:  # the stored text holds each element JSON-quoted: '"vip"' never matches '"vips"'
        q &= Q(**{f"{field}__icontains": json.dumps(tag)})
    return q
