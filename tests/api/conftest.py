"""Fixtures of the API tests: raw API keys of acme and globex, the official Delighted client on a live server."""
from __future__ import annotations

import secrets
import warnings

import pytest

from accounts.scoping import account_scope
from tests.factories import ApiKeyFactory

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # delighted 4.2.0 announces its sunset on import
    import delighted


def new_key(account, scope: str = "write") -> str:
    raw = f"vb_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"
    with account_scope(account):
        ApiKeyFactory(account=account, raw=raw, scope=scope)
    return raw


@pytest.fixture
def acme_key(acme) -> str:
    return new_key(acme)


@pytest.fixture
def globex_key(globex) -> str:
    return new_key(globex)


@pytest.fixture
def delighted_client(live_server, acme_key):
    """The unmodified ``delighted`` module pointed at the live server with acme's key."""
    delighted.api_key = acme_key
    delighted.api_base_url = live_server.url + "/v1/"
    delighted.shared_client = None
    yield delighted
    delighted.shared_client = None
    delighted.api_key = None
