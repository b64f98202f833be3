"""test_capture_one_statement and test_capture_cache again, through production's dispatch (config/wsgi.py):
their JSON submits to ``/r/<token>`` run on the respondent's middleware stack (responses/handler.py)."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.responses.test_capture_cache import *  # noqa: F403
from tests.responses.test_capture_one_statement import *  # noqa: F403
from tests.responses.test_lean_path import production_client


@pytest.fixture
def client() -> Client:
    return production_client()
