"""Computed report panels cached per (account, surveys, period, filters, rollup version).

``responses.rollups`` bumps the account's rollup version whenever a response moves between rollup
buckets (and when rollups are rebuilt), so a cached panel is never older than the rollups it was
computed from. Figures that do not come from rollups (response rate from invitations, resolution
rate from answers) can lag by at most ``PANEL_TTL``.
"""
from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from accounts.models import Account
from responses.rollups import rollup_version_key

PANEL_TTL = 300  # seconds
logger = logging.getLogger("verbatim")


def rollup_version(account: Account) -> int:
    """The account's current rollup version; a missing one (evicted, new) is set now, so panels cached
    under an older version are never read again."""
    key = rollup_version_key(account)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return int(version or 0)


def panel_key(account: Account, name: str, parts: Iterable[Any]) -> str:
    raw = "|".join(str(p) for p in parts)
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return f"reports:{name}:{account.pk}:{rollup_version(account)}:{digest}"


def cached_panel(account: Account, name: str, parts: Iterable[Any], build: Callable[[], Any]) -> Any:
    """``build()``'s result from the cache when the rollups have not changed since, else built and stored.
    A dict result gets ``panel_key``, the key it is cached under, so its template can cache the rendered
    fragment under the same key (``{% cache %}``). A cache outage falls back to building every time."""
    try:
        key = panel_key(account, name, parts)
        found = cache.get(key)
    except Exception:  # noqa: BLE001 - a dashboard must not fail because the cache is down
        logger.warning("report cache unavailable", exc_info=True)
        value = build()
        if isinstance(value, dict):
            value["panel_key"] = f"uncached:{uuid.uuid4()}"  # matches no stored fragment
        return value
    if found is not None:
        return found
    value = build()
    if isinstance(value, dict):
        value["panel_key"] = key  # templates cache their rendered fragment under it ({% cache %})
    try:
        cache.set(key, value, timeout=PANEL_TTL)
    except Exception:  # noqa: BLE001
        logger.warning("report cache unavailable", exc_info=True)
    return value
