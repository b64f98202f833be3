"""GET /api/v1/invitations?status=…: a status outside the list, the empty one included, is a 400."""
from __future__ import annotations

import pytest

from tests.api.conftest import new_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["", "bogus"])
def test_an_unknown_or_empty_status_filter_is_refused_naming_the_field(client, acme, status):
    answer = client.get("/api/v1/invitations", {"status": status}, HTTP_AUTHORIZATION=f"Bearer {new_key(acme)}")
    assert answer.status_code == 400
    assert answer.json()["errors"]["status"][0].startswith("One of: scheduled, ")


def test_a_known_status_filter_and_no_filter_answer_200(client, acme):
    key = new_key(acme)
    assert client.get("/api/v1/invitations", {"status": "sent"}, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert client.get("/api/v1/invitations", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
