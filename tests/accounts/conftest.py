"""The API door (``ApiKeyAuthentication``) activates a scope for the rest of the request; in a test
there is no ``ScopeResetMiddleware`` around a direct call, so restore the scope state after each test."""
from __future__ import annotations

import pytest
from django_scopes.state import state


@pytest.fixture(autouse=True)
def _restore_scope_state():
    token = state.set({})
    yield
    state.reset(token)
