"""Rate limits per token and per address; they fail open when Redis is down (reliability F5)."""
from __future__ import annotations

import time

import pytest
import time_machine
from django.core.cache import cache

from accounts.scoping import account_scope
from responses import ratelimit
from responses.models import Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    """The real Redis cache (tests default to it when REDIS_URL is set), in a fresh window: the
    counters are per minute, and a burst that straddled a minute's end was split over two windows
    (neither past the limit: a test failed now and then), so the clock starts 1 s into a minute."""
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs REDIS_URL")
    cache.clear()
    start = (int(time.time()) // ratelimit.WINDOW + 1) * ratelimit.WINDOW + 1
    with time_machine.travel(start, tick=True):
        yield
    cache.clear()


def test_a_burst_on_one_token_gets_429_with_retry_after(client, link, redis_cache):
    statuses = [client.post(link.score_url(9), {"score": 9}).status_code
                for _ in range(ratelimit.TOKEN_WRITES_PER_MINUTE + 2)]
    assert statuses.count(429) >= 1
    limited = client.post(link.score_url(9), {"score": 9})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.content.decode()


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(client, link, redis_cache, monkeypatch):
    monkeypatch.setattr(ratelimit, "ADDRESS_REQUESTS_PER_MINUTE", 5)
    statuses = [client.get(link.url, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(8)]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3


def test_answers_are_accepted_while_redis_is_down(client, link, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    # Django's setting_changed handler rebuilds the cache handlers: the cache now points nowhere.
    with pytest.raises(Exception):  # noqa: B017 (whatever redis-py raises: connection refused)
        cache.get("anything")
    assert client.post(link.score_url(9), {"score": 9, "auto": "1"}).status_code == 302
    assert client.get(f"/r/{link.token}/hp").status_code == 200
    with account_scope(link.invitation.account):
        assert Response.objects.get(invitation=link.invitation).score == 9
