"""Roles: viewers read only (every POST under /app/ is refused), members do not manage members or keys,
admins do; other accounts answer 404."""
from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import get_resolver, reverse

from accounts.models import ApiKey, MemberInvite, Membership, Role
from accounts.scoping import cross_account
from tests.factories import TENANT_FACTORIES, ApiKeyFactory, MemberInviteFactory
from tests.test_isolation import object_for, walk

SETTINGS_PAGES = ["accounts:settings", "accounts:members", "accounts:apikey-list"]


def url(name: str, account: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"account": account, **kwargs})


def row_counts() -> dict[str, int]:
    """Rows per account-owned model (and accounts themselves): a refused request changes none."""
    with cross_account():
        return {label: apps.get_model(label).objects.count() for label in [*TENANT_FACTORIES, "accounts.Account"]}


@pytest.fixture
def acme_world(acme, alice, bob, carol):
    """One of every tenant object in acme."""
    with cross_account():
        return {label: factory(account=acme) for label, factory in TENANT_FACTORIES.items()}


def test_a_viewer_cannot_post_anything_anywhere_under_app(client, acme, bob, acme_world):
    client.force_login(bob)
    before = row_counts()
    refused = []
    for name, kwargs, _route in walk(get_resolver().url_patterns):
        if "account" not in kwargs:
            continue
        values = {}
        for kwarg in kwargs:
            if kwarg == "account":
                continue
            obj = object_for(kwarg, name, acme_world)
            if obj is None:
                break
            values[kwarg] = obj.pk
        else:
            response = client.post(url(name, **values), {"name": "changed", "role": "owner", "email": "x@y.example"})
            assert response.status_code == 403, f"{name}: viewer POST answered {response.status_code}"
            refused.append(name)
    assert "accounts:settings" in refused and "accounts:membership-role" in refused
    assert row_counts() == before
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_a_viewer_can_read_the_dashboard(client, acme, bob):
    client.force_login(bob)
    assert client.get(url("accounts:dashboard")).status_code == 200


@pytest.mark.parametrize("page", SETTINGS_PAGES)
def test_members_and_viewers_get_403_on_settings_pages(client, acme, carol, bob, page):
    for user in (carol, bob):
        client.force_login(user)
        assert client.get(url(page)).status_code == 403


def test_a_member_cannot_invite_change_roles_remove_members_or_create_keys(client, acme, alice, carol):
    client.force_login(carol)
    alice_membership = Membership.objects.get(user=alice, account=acme)
    key = ApiKeyFactory(account=acme)
    before = row_counts()
    assert client.post(url("accounts:members"), {"email": "eve@acme.example", "role": "admin"}).status_code == 403
    assert client.post(url("accounts:membership-role", pk=alice_membership.pk), {"role": "viewer"}).status_code == 403
    assert client.post(url("accounts:membership-delete", pk=alice_membership.pk)).status_code == 403
    assert client.post(url("accounts:apikey-list"), {"name": "mine", "scope": "write"}).status_code == 403
    assert client.post(url("accounts:apikey-revoke", pk=key.pk)).status_code == 403
    assert client.post(url("accounts:settings"), {"name": "Hacked"}).status_code == 403
    assert row_counts() == before
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.ADMIN
    key.refresh_from_db()
    assert key.is_active


def test_an_admin_changes_a_role_and_removes_a_member(client, acme, alice, carol, bob):
    client.force_login(alice)
    carol_m = Membership.objects.get(user=carol, account=acme)
    response = client.post(url("accounts:membership-role", pk=carol_m.pk), {"role": "viewer"}, follow=True)
    assert "is now Viewer" in response.content.decode()
    carol_m.refresh_from_db()
    assert carol_m.role == Role.VIEWER
    bob_m = Membership.objects.get(user=bob, account=acme)
    client.post(url("accounts:membership-delete", pk=bob_m.pk))
    assert not Membership.objects.filter(pk=bob_m.pk).exists()
    client.force_login(bob)
    assert client.get(url("accounts:dashboard")).status_code == 404


def test_an_admin_cannot_make_an_owner_or_demote_the_last_owner(client, acme, alice, carol):
    from tests.factories import MembershipFactory, UserFactory

    owner = MembershipFactory(account=acme, user=UserFactory(username="olga@acme.example"), role=Role.OWNER)
    client.force_login(alice)
    carol_m = Membership.objects.get(user=carol, account=acme)
    page = client.post(url("accounts:membership-role", pk=carol_m.pk), {"role": "owner"}, follow=True)
    assert "Only an owner can grant or remove the owner role." in page.content.decode()
    carol_m.refresh_from_db()
    assert carol_m.role == Role.MEMBER
    client.post(url("accounts:membership-delete", pk=owner.pk))
    assert Membership.objects.filter(pk=owner.pk).exists()
    client.force_login(owner.user)
    page = client.post(url("accounts:membership-role", pk=owner.pk), {"role": "admin"}, follow=True)
    assert "An account needs at least one owner." in page.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_admin_edits_the_account_settings(client, acme, alice):
    client.force_login(alice)
    page = client.get(url("accounts:settings"))
    assert page.status_code == 200
    assert 'name="throttle_days"' in page.content.decode()
    data = {"name": "Acme Inc", "time_zone": "Europe/Helsinki", "default_locale": "fi",
            "sender_name": "Acme Support", "sender_email": "support@acme.example", "brand_color": "#aa3300",
            "throttle_days": "45", "link_expiry_days": "60", "edit_window_days": "14", "headless_signals": "on"}
    response = client.post(url("accounts:settings"), data, follow=True)
    assert "Settings saved." in response.content.decode()
    acme.refresh_from_db()
    assert (acme.name, acme.time_zone, acme.default_locale, acme.throttle_days) == (
        "Acme Inc", "Europe/Helsinki", "fi", 45)
    assert (acme.brand_color, acme.link_expiry_days, acme.edit_window_days, acme.headless_signals) == (
        "#aa3300", 60, 14, True)


def test_invalid_settings_show_errors_and_change_nothing(client, acme, alice):
    client.force_login(alice)
    data = {"name": "", "time_zone": "Mars/Olympus", "default_locale": "en", "brand_color": "red",
            "throttle_days": "30", "link_expiry_days": "90", "edit_window_days": "30"}
    response = client.post(url("accounts:settings"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body
    assert "Use a colour like #3b5bdb." in body
    assert "Select a valid choice." in body
    acme.refresh_from_db()
    assert acme.name == "Acme" and acme.time_zone == "UTC"


def test_a_logo_upload_is_kept_and_a_non_image_refused(client, acme, alice, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    client.force_login(alice)
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "#3366ff").save(buf, "PNG")
    base = {"name": "Acme", "time_zone": "UTC", "default_locale": "en", "brand_color": "#3b5bdb",
            "throttle_days": "30", "link_expiry_days": "90", "edit_window_days": "30"}
    bad = client.post(url("accounts:settings"), {**base, "logo": SimpleUploadedFile("x.png", b"<svg/>")})
    assert bad.status_code == 400
    acme.refresh_from_db()
    assert not acme.logo
    good = client.post(url("accounts:settings"), {**base, "logo": SimpleUploadedFile("logo.png", buf.getvalue())})
    assert good.status_code == 302
    acme.refresh_from_db()
    assert acme.logo.name.startswith("logos/") and (tmp_path / acme.logo.name).exists()


def test_mallory_gets_404_on_acme_settings_members_and_keys(client, acme, alice, mallory):
    client.force_login(mallory)
    alice_m = Membership.objects.get(user=alice, account=acme)
    key = ApiKeyFactory(account=acme)
    invite = MemberInviteFactory(account=acme)
    for page in SETTINGS_PAGES:
        assert client.get(url(page)).status_code == 404
        assert client.post(url(page), {"name": "x", "email": "m@globex.example", "role": "admin"}).status_code == 404
    assert client.post(url("accounts:membership-role", pk=alice_m.pk), {"role": "viewer"}).status_code == 404
    assert client.post(url("accounts:membership-delete", pk=alice_m.pk)).status_code == 404
    assert client.post(url("accounts:apikey-revoke", pk=key.pk)).status_code == 404
    assert client.post(url("accounts:memberinvite-delete", pk=invite.pk)).status_code == 404
    # mallory's own account, acme's ids: still 404
    assert client.post(url("accounts:apikey-revoke", "globex", pk=key.pk)).status_code == 404
    assert client.post(url("accounts:membership-delete", "globex", pk=alice_m.pk)).status_code == 404
    assert client.post(url("accounts:memberinvite-delete", "globex", pk=invite.pk)).status_code == 404
    with cross_account():
        assert ApiKey.objects.get(pk=key.pk).is_active
        assert MemberInvite.objects.filter(pk=invite.pk).exists()
    assert Membership.objects.get(pk=alice_m.pk).role == Role.ADMIN
