"""test_answers and test_token_isolation again, through production's dispatch (config/wsgi.py): their
JSON submits to ``/r/<token>`` run on the respondent's middleware stack (responses/handler.py)."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.responses.test_answers import *  # noqa: F403
from tests.responses.test_lean_path import production_client
from tests.responses.test_token_isolation import *  # noqa: F403


@pytest.fixture
def client() -> Client:
    return production_client()
