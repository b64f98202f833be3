"""API keys: the page (created once, listed by prefix, revoked) and authentication through
``accounts.api_auth.ApiKeyAuthentication`` (Bearer, Basic with and without the colon)."""
from __future__ import annotations

import base64

import pytest
from django.urls import reverse
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response as ApiResponse
from rest_framework.test import APIRequestFactory

from accounts import services
from accounts.api_auth import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.scoping import current_account_id


@api_view(["GET"])
@authentication_classes([ApiKeyAuthentication])
@permission_classes([IsAuthenticated])
def whoami(request):
    """A tiny DRF view: which account did the key open, and which scope is active."""
    return ApiResponse({"account": request.account.slug, "scope_account_id": current_account_id(),
                        "user": str(request.user)})


def call(authorization: str | None):
    request = APIRequestFactory().get("/whoami", **({"HTTP_AUTHORIZATION": authorization} if authorization else {}))
    response = whoami(request)
    response.render()
    return response


def basic(user: str, password: str | None = "") -> str:
    raw = user if password is None else f"{user}:{password}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.fixture
def acme_key(acme, alice):
    _key, raw = services.create_api_key(account=acme, name="helpdesk", by=alice)
    return raw


@pytest.fixture
def globex_key(globex):
    _key, raw = services.create_api_key(account=globex, name="globex")
    return raw


@pytest.mark.parametrize("form", ["bearer", "basic-colon", "basic-no-colon"])
def test_a_valid_key_opens_its_account(acme, acme_key, form):
    header = {"bearer": f"Bearer {acme_key}", "basic-colon": basic(acme_key, ""),
              "basic-no-colon": basic(acme_key, None)}[form]
    response = call(header)
    assert response.status_code == 200
    assert response.data["account"] == "acme"
    assert response.data["scope_account_id"] == acme.pk


def test_a_used_key_records_when_it_was_last_used(acme, acme_key):
    assert ApiKey.objects.get(account=acme).last_used_at is None
    call(f"Bearer {acme_key}")
    assert ApiKey.objects.get(account=acme).last_used_at is not None


@pytest.mark.parametrize("header", ["Bearer vb_nope_wrong", "Basic !!notbase64", "Bearer "])
def test_a_wrong_or_malformed_key_is_refused(acme, acme_key, header):
    response = call(header)
    assert response.status_code in (401, 403)
    assert "account" not in response.data


def test_no_key_is_refused(acme_key):
    assert call(None).status_code in (401, 403)


def test_a_revoked_key_is_refused(acme, acme_key):
    services.revoke_api_key(api_key=ApiKey.objects.get(account=acme))
    response = call(f"Bearer {acme_key}")
    assert response.status_code == 401
    assert "account" not in response.data


def test_another_accounts_key_opens_that_account_never_this_one(acme, globex, acme_key, globex_key):
    response = call(basic(globex_key))
    assert response.status_code == 200
    assert response.data["account"] == "globex"
    assert response.data["scope_account_id"] == globex.pk != acme.pk


def test_an_admin_creates_a_key_sees_it_once_and_it_authenticates(client, acme, alice):
    client.force_login(alice)
    list_url = reverse("accounts:apikey-list", kwargs={"account": "acme"})
    response = client.post(list_url, {"name": "Zendesk", "scope": "read"})
    assert response.status_code == 302
    shown = client.get(response["Location"])
    raw = shown.context["raw"]
    assert raw.startswith("vb_") and raw in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    again = client.get(response["Location"])
    assert again.status_code == 302  # never shown twice
    listing = client.get(list_url).content.decode()
    key = ApiKey.objects.get(account=acme, name="Zendesk")
    assert raw not in listing and f"vb_{key.prefix}_" in listing and "Read" in listing
    assert key.key_hash != raw and raw not in key.key_hash
    assert call(f"Bearer {raw}").data["account"] == "acme"


def test_an_admin_revokes_a_key_and_it_stops_working(client, acme, alice, acme_key):
    client.force_login(alice)
    key = ApiKey.objects.get(account=acme)
    response = client.post(reverse("accounts:apikey-revoke", kwargs={"account": "acme", "pk": key.pk}), follow=True)
    assert "revoked" in response.content.decode()
    assert call(f"Bearer {acme_key}").status_code == 401


def test_an_empty_key_name_is_a_form_error(client, acme, alice):
    client.force_login(alice)
    response = client.post(reverse("accounts:apikey-list", kwargs={"account": "acme"}), {"name": "", "scope": "write"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.filter(account=acme).exists()


def test_mallory_cannot_list_or_revoke_acme_keys(client, acme, mallory, acme_key):
    client.force_login(mallory)
    key = ApiKey.objects.get(account=acme)
    assert client.get(reverse("accounts:apikey-list", kwargs={"account": "acme"})).status_code == 404
    assert client.post(reverse("accounts:apikey-revoke", kwargs={"account": "globex", "pk": key.pk})).status_code == 404
    assert call(f"Bearer {acme_key}").status_code == 200
