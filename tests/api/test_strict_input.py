"""The REST API refuses what it would otherwise silently ignore: unknown fields and form bodies."""
import json

from accounts.scoping import account_scope
from surveys.models import Survey


def _post(client, key, body, content_type="application/json"):
    return client.post("/api/v1/surveys", data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_an_unknown_or_read_only_field_is_a_400_naming_it_and_nothing_is_written(client, acme, acme_key):
    with account_scope(acme):
        before = Survey.objects.count()
    response = _post(client, acme_key, json.dumps({"name": "Onboarding", "kind": "nps", "colour": "red",
                                                   "scale_max": 99}))
    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {"colour": ["Unknown field."], "scale_max": ["Unknown field."]}
    with account_scope(acme):
        assert Survey.objects.count() == before


def test_a_form_encoded_body_is_refused_with_415(client, acme_key):
    response = _post(client, acme_key, "name=Onboarding&kind=", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_a_json_array_body_is_a_400(client, acme_key):
    response = _post(client, acme_key, json.dumps([{"name": "x"}]))
    assert response.status_code == 400


def test_mallory_key_creates_in_globex_never_in_acme(client, acme, globex, globex_key):
    response = _post(client, globex_key, json.dumps({"name": "Mine", "kind": "nps"}))
    assert response.status_code == 201
    with account_scope(acme):
        assert not Survey.objects.filter(name="Mine").exists()
