"""The OpenAPI schema of the notes endpoints matches what they answer: a plain list (docs/api.md).

schemathesis found it on SQLite, where ids start at 1 in every test so its guessed
``/api/v1/responses/1/notes`` named a real response: the schema said a paginated object."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope
from tests.api.conftest import new_key
from tests.factories import PersonFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/responses/{id}/notes", "/api/v1/cases/{id}/notes"])
def test_the_schema_says_the_notes_are_a_plain_list(client, path):
    schema = client.get("/api/schema/?format=json").json()
    answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}


def test_the_notes_endpoint_answers_a_plain_list(client, acme):
    with account_scope(acme):
        response = ResponseFactory(account=acme, survey=SurveyFactory(account=acme), person=PersonFactory(account=acme))
    answer = client.get(f"/api/v1/responses/{response.pk}/notes", HTTP_AUTHORIZATION=f"Bearer {new_key(acme)}")
    assert answer.status_code == 200 and answer.json() == []
