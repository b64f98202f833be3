"""The base layout: navigation between the account's areas, the account switcher, flash messages."""
from __future__ import annotations

from accounts.models import Role
from tests.factories import MembershipFactory


def test_the_navigation_links_every_area_of_the_account(client, acme, alice):
    client.force_login(alice)
    body = client.get("/app/acme/").content.decode()
    for area in ("surveys/", "surveys/people/", "responses/", "reports/", "integrations/", "settings/"):
        assert f'href="/app/acme/{area}"' in body
    assert 'aria-current="page">Overview' in body
    assert 'class="skip" href="#main"' in body


def test_a_user_of_two_accounts_switches_between_them(client, acme, globex, alice):
    MembershipFactory(account=globex, user=alice, role=Role.VIEWER)
    client.force_login(alice)
    body = client.get("/app/acme/").content.decode()
    assert 'aria-label="Switch account"' in body
    assert 'href="/app/globex/"' in body and 'href="/app/acme/" aria-current="true"' in body
    globex_page = client.get("/app/globex/")
    assert globex_page.status_code == 200
    assert "<h1>Globex</h1>" in globex_page.content.decode()
    # home remembers the last account used
    assert client.get("/")["Location"] == "/app/globex/"
    client.get("/app/acme/")
    assert client.get("/")["Location"] == "/app/acme/"


def test_a_user_of_one_account_sees_no_switcher(client, acme, alice):
    client.force_login(alice)
    assert "Switch account" not in client.get("/app/acme/").content.decode()


def test_a_user_without_an_account_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert "No account yet" in client.get("/").content.decode()


def test_flash_messages_are_announced(client, acme, alice):
    client.force_login(alice)
    response = client.post("/app/acme/settings/api-keys/", {"name": "k", "scope": "read"}, follow=True)
    response = client.post(f"/app/acme/settings/api-keys/{response.context['key'].pk}/revoke/", follow=True)
    body = response.content.decode()
    assert 'role="status" aria-live="polite"' in body and "revoked" in body


def test_mallorys_switcher_never_lists_acme(client, acme, globex, alice, mallory):
    from tests.factories import AccountFactory

    MembershipFactory(account=AccountFactory(name="Globex Labs", slug="globex-labs"), user=mallory)
    client.force_login(mallory)
    body = client.get("/app/globex/").content.decode()
    assert 'href="/app/globex-labs/"' in body
    assert "/app/acme/" not in body and "Acme" not in body
    assert client.get("/app/acme/").status_code == 404
