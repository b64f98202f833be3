"""Fixed-window rate limits for the public respondent endpoints, failing OPEN (reliability F5, TK-7).

Answers must be accepted while Redis is down: any cache error lets the request through and logs.
The client address is ``REMOTE_ADDR`` (set by the trusted proxy); ``X-Forwarded-For`` is ignored.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger("verbatim")

TOKEN_WRITES_PER_MINUTE = 30
ADDRESS_REQUESTS_PER_MINUTE = 600
WINDOW = 60


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


# Every counter of a request in one command: INCR each key, give a new key its expiry (atomic in Redis).
_COUNT_LUA = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return counts
"""
_script: Any = None  # redis-py's Script: sends the SHA (the text once per server), through any client given


def _count(cache_keys: list[str], window: int) -> list[int]:
    """Increment window counters: one round trip and one command for all of them on Redis."""
    client_of = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_of is not None:  # django's RedisCache: its key prefix/version, our script
        keys = [cache.make_and_validate_key(k) for k in cache_keys]
        client = client_of(keys[0], write=True)
        global _script
        if _script is None:
            _script = client.register_script(_COUNT_LUA)
        return [int(n) for n in _script(keys=keys, args=[window + 1], client=client)]
    counts = []
    for cache_key in cache_keys:
        if cache.add(cache_key, 1, timeout=window + 1):
            counts.append(1)
            continue
        try:
            counts.append(cache.incr(cache_key))
        except ValueError:  # expired between add and incr: start again
            counts.append(1)
    return counts


def hit_many(keys: list[tuple[str, int]], *, window: int = WINDOW) -> None:
    """Count one request against each (key, limit); raise ``RateLimited`` past any limit per ``window``."""
    if not keys:
        return
    now = int(time.time())
    bucket = now // window
    try:
        counts = _count([f"rl:{key}:{bucket}" for key, _limit in keys], window)
    except Exception:  # Redis down: fail open, never lose an answer to the limiter
        logger.warning("rate limiter unavailable; letting %s through", keys[0][0].split(":")[0], exc_info=True)
        return
    if any(count > limit for count, (_key, limit) in zip(counts, keys, strict=True)):
        raise RateLimited(retry_after=max(1, (bucket + 1) * window - now))


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limit_address(request: HttpRequest, *, defer: bool = False) -> None:
    """Every public request counts against its client address (unknown tokens included).

    ``defer``: a POST's address count travels with its token count in ``limit_writes`` (one Redis
    round trip); ``flush`` counts it if the view never got that far."""
    key = (f"ip:{client_address(request)}", ADDRESS_REQUESTS_PER_MINUTE)
    if defer:
        request._rate_pending = [key]
        return
    hit_many([key])


def flush(request: HttpRequest) -> None:
    """Count what ``limit_address(defer=True)`` left pending (a no-op once ``limit_writes`` ran)."""
    hit_many(request.__dict__.pop("_rate_pending", []))


def limit_writes(request: HttpRequest, *, token_key: str) -> None:
    """Writes also count against the token (or the survey and address, for link surveys and the widget)."""
    pending = request.__dict__.pop("_rate_pending", [])
    if request.method == "POST":
        pending.append((f"tok:{token_key}", TOKEN_WRITES_PER_MINUTE))
    hit_many(pending)
