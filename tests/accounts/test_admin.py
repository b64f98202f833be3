"""The Django admin is enabled for operators (staff), across accounts on purpose."""
from __future__ import annotations

from tests.factories import ApiKeyFactory, MemberInviteFactory, UserFactory


def test_an_operator_sees_every_accounts_keys_and_invites_in_the_admin(client, acme, globex):
    ApiKeyFactory(account=acme, name="acme-key")
    ApiKeyFactory(account=globex, name="globex-key")
    MemberInviteFactory(account=acme, email="pending@acme.example")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    keys = client.get("/admin/accounts/apikey/").content.decode()
    assert "acme-key" in keys and "globex-key" in keys
    assert "pending@acme.example" in client.get("/admin/accounts/memberinvite/").content.decode()
    assert client.get("/admin/accounts/account/").status_code == 200


def test_mallory_an_account_admin_is_not_an_operator(client, mallory):
    response = client.get("/admin/accounts/apikey/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(mallory)
    response = client.get("/admin/accounts/apikey/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
