"""Fixed-window rate limits for the public respondent endpoints, failing OPEN (reliability F5, TK-7).

Answers must be accepted while Redis is down: any cache error lets the request through and logs.
The client address is ``REMOTE_ADDR`` (set by the trusted proxy); ``X-Forwarded-For`` is ignored.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.http import HttpRequest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

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
_COUNT_SHA = hashlib.sha1(_COUNT_LUA.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)
_local = threading.local()  # this thread's own Redis connection for the counters


def _connection(client: Any) -> Any:
    """This thread's connection to ``client``'s server: made once per thread (and process, and pool), used
    by nothing else, so a count is one command on the socket without the pool's checkout and release."""
    pool = client.connection_pool
    held = getattr(_local, "held", None)
    if held is None or held[0] is not pool or held[1] != os.getpid():
        held = _local.held = (pool, os.getpid(), pool.connection_class(**pool.connection_kwargs))
    return held[2]


def _evalsha(connection: Any, keys: list[str], window: int) -> list[Any]:
    try:
        connection.send_command("EVALSHA", _COUNT_SHA, len(keys), *keys, window + 1)
        return connection.read_response()
    except NoScriptError:  # a restarted or different server: EVAL sends the text (and caches it there)
        connection.send_command("EVAL", _COUNT_LUA, len(keys), *keys, window + 1)
        return connection.read_response()


def _count(cache_keys: list[str], window: int) -> list[int]:
    """Increment window counters: one round trip and one command for all of them on Redis."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    client_of = getattr(getattr(backend, "_cache", None), "get_client", None)
    if client_of is not None:  # django's RedisCache: its key prefix/version, our script, our connection
        keys = [backend.make_key(k) for k in cache_keys]  # our keys are short and plain: nothing to validate
        connection = _connection(client_of(keys[0], write=True))
        try:
            counts = _evalsha(connection, keys, window)
        except RedisConnectionError:  # a stale connection (the server restarted): once more, connecting afresh
            connection.disconnect()
            counts = _evalsha(connection, keys, window)
        except BaseException:
            connection.disconnect()  # a reply may still be on its way: never read it as the next one's
            raise
        return [int(n) for n in counts]
    counts = []
    for cache_key in cache_keys:
        if backend.add(cache_key, 1, timeout=window + 1):
            counts.append(1)
            continue
        try:
            counts.append(backend.incr(cache_key))
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
