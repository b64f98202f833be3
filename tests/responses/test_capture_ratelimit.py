"""The rate limiter's own Redis connection per thread (responses.ratelimit._connection), against real Redis:
counts survive a dropped connection and a server that does not know the script, and each thread counts on
its own connection."""
from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache import cache

from responses import ratelimit


@pytest.fixture
def redis_client(settings):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs REDIS_URL")
    return cache._cache.get_client(write=True)


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_counts_limit_on_the_threads_own_connection(redis_client):
    name = key()
    ratelimit.hit_many([(name, 2)])
    ratelimit.hit_many([(name, 2)])
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_many([(name, 2)])
    mine = ratelimit._connection(redis_client)
    assert mine is ratelimit._connection(redis_client)
    others = []
    thread = threading.Thread(target=lambda: others.append(ratelimit._connection(redis_client)))
    thread.start()
    thread.join()
    assert others[0] is not mine


def test_a_dropped_connection_is_reopened_and_the_count_kept(redis_client):
    name = key()
    ratelimit.hit_many([(name, 2)])
    connection = ratelimit._connection(redis_client)
    connection.send_command("CLIENT", "ID")
    redis_client.client_kill_filter(_id=connection.read_response())  # the server drops our socket
    ratelimit.hit_many([(name, 2)])  # counted (not let through unseen) on a new connection
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_many([(name, 2)])


def test_a_server_without_the_script_gets_its_text(redis_client, monkeypatch):
    monkeypatch.setattr(ratelimit, "_COUNT_SHA", "0" * 40)  # a SHA no server knows: NOSCRIPT
    name = key()
    ratelimit.hit_many([(name, 1)])
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_many([(name, 1)])
