"""Fixed-window rate limits for the public respondent endpoints, failing OPEN (reliability F5, TK-7).

Answers must be accepted while Redis is down: any cache error lets the request through and logs.
The client address is ``REMOTE_ADDR`` (set by the trusted proxy); ``X-Forwarded-For`` is ignored.
"""
from __future__ import annotations

import logging
import time

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


def _count(cache_key: str, window: int) -> int:
    """Increment a window counter: one round trip (INCR + EXPIRE pipelined) on Redis."""
    client_of = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_of is not None:  # django's RedisCache: its key prefix/version, our pipeline
        key = cache.make_and_validate_key(cache_key)
        pipe = client_of(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window + 1, nx=True)
        return int(pipe.execute()[0])
    if cache.add(cache_key, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr: start again
        return 1


def hit(key: str, *, limit: int, window: int = WINDOW) -> None:
    """Count one request against ``key``; raise ``RateLimited`` past ``limit`` per ``window`` seconds."""
    now = int(time.time())
    bucket = now // window
    try:
        count = _count(f"rl:{key}:{bucket}", window)
    except Exception:  # Redis down: fail open, never lose an answer to the limiter
        logger.warning("rate limiter unavailable; letting %s through", key.split(":")[0], exc_info=True)
        return
    if count > limit:
        raise RateLimited(retry_after=max(1, (bucket + 1) * window - now))


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limit_address(request: HttpRequest) -> None:
    """Every public request counts against its client address (unknown tokens included)."""
    hit(f"ip:{client_address(request)}", limit=ADDRESS_REQUESTS_PER_MINUTE)


def limit_writes(request: HttpRequest, *, token_key: str) -> None:
    """Writes also count against the token (or the survey and address, for link surveys and the widget)."""
    if request.method == "POST":
        hit(f"tok:{token_key}", limit=TOKEN_WRITES_PER_MINUTE)
