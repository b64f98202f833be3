"""A NUL character in a query string or form body is a 400 naming the field, never a 500.

PostgreSQL text columns cannot hold NUL; schemathesis found ``GET /api/v1/invitations?status=%00``.
"""
import json

from tests.factories import ApiKeyFactory


def test_a_page_filter_with_a_nul_character_is_refused_with_400(client, alice, acme):
    client.force_login(alice)
    response = client.get(f"/app/{acme.slug}/surveys/people/?q=ab%00cd")
    assert response.status_code == 400
    assert b"q: Contains a NUL character" in response.content


def test_an_api_filter_with_a_nul_character_gets_a_json_400_naming_it(client, acme):
    ApiKeyFactory(account=acme, raw="vb_nul00001_secret")
    response = client.get("/api/v1/invitations?status=%F2%A6%A0%A9%00N",
                          HTTP_AUTHORIZATION="Bearer vb_nul00001_secret")
    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {"status": ["Contains a NUL character."]}


def test_a_delighted_form_body_with_a_nul_character_is_refused(client, acme):
    ApiKeyFactory(account=acme, raw="vb_nul00002_secret")
    response = client.post("/v1/people.json", data="email=a%00b%40example.com",
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION="Bearer vb_nul00002_secret")
    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {"email": ["Contains a NUL character."]}


def test_a_mallory_filter_on_acme_is_still_a_404_not_a_400_leak(client, mallory, acme):
    client.force_login(mallory)
    assert client.get(f"/app/{acme.slug}/surveys/people/?q=x").status_code == 404
