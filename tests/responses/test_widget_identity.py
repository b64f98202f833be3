"""Web widget identity verification: user_hash = HMAC-SHA256(account's widget secret, user id or email)."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from accounts.scoping import account_scope
from responses import widget_identity
from responses.models import Response

pytestmark = pytest.mark.django_db
ORIGIN = "https://app.customer.example"


def config(client, survey, **params):
    return client.get(f"/w/{survey.public_id}/config", params, HTTP_ORIGIN=ORIGIN)


def post(client, survey, path: str, body: dict):
    return client.post(f"/w/{survey.public_id}/{path}", json.dumps(body), content_type="application/json",
                       HTTP_ORIGIN=ORIGIN)


def sign(secret: str, identity: str) -> str:
    """What the customer's server computes (written out here, not through our helper)."""
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


def require_verification(account) -> str:
    secret = widget_identity.regenerate_widget_secret(account=account)
    widget_identity.set_widget_verification(account=account, required=True)
    return secret


def assert_error(response, status: int) -> None:
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    assert "user_hash" in response.json()["errors"]
    assert "nonce" not in response.json()


def test_verification_is_off_by_default_and_the_widget_shows_unverified(client, survey):
    assert survey.account.widget_require_verified is False and survey.account.widget_secret == ""
    data = config(client, survey, email="dana@customer.example").json()
    assert data["show"] is True and data["verified"] is False
    assert post(client, survey, "responses", {"nonce": data["nonce"], "score": 8}).status_code == 201


def test_a_wrong_hash_is_no_error_while_verification_is_not_required(client, survey):
    secret = widget_identity.regenerate_widget_secret(account=survey.account)
    assert config(client, survey, user_id="u-7", user_hash="0" * 64).json()["verified"] is False
    assert config(client, survey, user_id="u-7", user_hash=sign(secret, "u-7")).json()["verified"] is True


def test_the_right_hash_of_the_user_id_is_accepted_and_the_answer_recorded(client, survey):
    secret = require_verification(survey.account)
    data = config(client, survey, email="dana@customer.example", user_id="u-7", user_hash=sign(secret, "u-7")).json()
    assert data["show"] is True and data["verified"] is True
    response = post(client, survey, "responses", {"nonce": data["nonce"], "score": 9})
    assert response.status_code == 201
    with account_scope(survey.account):
        saved = Response.objects.get(pk=response.json()["id"])
        assert saved.person.email == "dana@customer.example" and saved.properties == {"user_id": "u-7"}


def test_without_a_user_id_the_hash_covers_the_email(client, survey):
    secret = require_verification(survey.account)
    email = "dana@customer.example"
    assert config(client, survey, email=email, user_hash=sign(secret, email).upper()).json()["verified"] is True


def test_a_missing_hash_is_refused_with_400_naming_the_field(client, survey):
    require_verification(survey.account)
    assert_error(config(client, survey, email="dana@customer.example", user_id="u-7"), 400)
    assert_error(config(client, survey), 400)  # anonymous: nothing to verify


def test_a_wrong_hash_is_refused_with_403_naming_the_field(client, survey):
    secret = require_verification(survey.account)
    assert_error(config(client, survey, user_id="u-7", user_hash=sign(secret, "u-8")), 403)
    assert_error(config(client, survey, user_id="u-7", user_hash="not hex at all"), 403)
    # the hash of the email does not verify a request that also names a user id
    assert_error(config(client, survey, email="dana@customer.example", user_id="u-7",
                        user_hash=sign(secret, "dana@customer.example")), 403)


def test_a_nonce_issued_before_verification_was_required_cannot_answer_or_dismiss(client, survey):
    nonce = config(client, survey, email="dana@customer.example").json()["nonce"]
    require_verification(survey.account)
    assert_error(post(client, survey, "responses", {"nonce": nonce, "score": 9}), 403)
    assert_error(post(client, survey, "dismiss", {"nonce": nonce}), 403)
    with account_scope(survey.account):
        assert not Response.objects.exists()


def test_regenerating_the_secret_stops_the_old_hashes(client, survey):
    old = require_verification(survey.account)
    new = widget_identity.regenerate_widget_secret(account=survey.account)
    assert new != old and len(new) == 64
    assert_error(config(client, survey, user_id="u-7", user_hash=sign(old, "u-7")), 403)
    assert config(client, survey, user_id="u-7", user_hash=sign(new, "u-7")).json()["verified"] is True


def test_acmes_secret_does_not_verify_for_globex(client, survey, globex_survey):
    acme_secret = require_verification(survey.account)
    globex_secret = require_verification(globex_survey.account)
    assert acme_secret != globex_secret
    assert_error(config(client, globex_survey, user_id="u-7", user_hash=sign(acme_secret, "u-7")), 403)
    assert config(client, globex_survey, user_id="u-7", user_hash=sign(globex_secret, "u-7")).json()["verified"]
    assert config(client, survey, user_id="u-7", user_hash=sign(acme_secret, "u-7")).json()["verified"]


def test_verification_cannot_be_required_without_a_secret(client, acme, alice):
    client.force_login(alice)
    url = reverse("responses:widget-settings", kwargs={"account": "acme"})
    response = client.post(url, {"widget_require_verified": "on"})
    assert response.status_code == 400
    assert "Generate a widget secret first." in response.content.decode()
    acme.refresh_from_db()
    assert acme.widget_require_verified is False


def test_an_admin_generates_the_secret_sees_it_and_turns_verification_on(client, acme, alice):
    client.force_login(alice)
    url = reverse("responses:widget-settings", kwargs={"account": "acme"})
    assert "No widget secret yet." in client.get(url).content.decode()
    client.post(reverse("responses:widget-secret-regenerate", kwargs={"account": "acme"}))
    acme.refresh_from_db()
    assert len(acme.widget_secret) == 64
    page = client.get(url).content.decode()
    assert acme.widget_secret in page and 'data-user-hash="USER_HASH"' in page
    assert client.post(url, {"widget_require_verified": "on"}).status_code == 302
    acme.refresh_from_db()
    assert acme.widget_require_verified is True
    integrations = client.get(reverse("integrations:integration-list", kwargs={"account": "acme"})).content.decode()
    assert url in integrations


def test_members_and_viewers_do_not_see_the_secret(client, acme, carol, bob):
    widget_identity.regenerate_widget_secret(account=acme)
    for user in (carol, bob):
        client.force_login(user)
        response = client.get(reverse("responses:widget-settings", kwargs={"account": "acme"}))
        assert response.status_code == 403 and acme.widget_secret not in response.content.decode()


def test_mallory_cannot_see_or_regenerate_acmes_secret(client, acme, mallory):
    secret = widget_identity.regenerate_widget_secret(account=acme)
    client.force_login(mallory)
    assert client.get(reverse("responses:widget-settings", kwargs={"account": "acme"})).status_code == 404
    assert client.post(reverse("responses:widget-secret-regenerate", kwargs={"account": "acme"})).status_code == 404
    acme.refresh_from_db()
    assert acme.widget_secret == secret
