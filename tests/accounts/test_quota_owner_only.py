"""The send quotas (EM-28) on the settings page: owners change them, admins only see them."""
from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = {"name": "Acme", "time_zone": "UTC", "default_locale": "en", "brand_color": "#3b5bdb",
        "throttle_days": "30", "link_expiry_days": "90", "edit_window_days": "30"}
RAISED = {"send_quota_hourly": "90000", "send_quota_daily": "900000", "send_recipient_cap": "9000"}


def settings_url(account) -> str:
    return reverse("accounts:settings", kwargs={"account": account.slug})


def input_tag(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def quotas(account) -> tuple[int, int, int]:
    account.refresh_from_db()
    return account.send_quota_hourly, account.send_quota_daily, account.send_recipient_cap


@pytest.fixture
def olga(acme):
    return MembershipFactory(account=acme, user=UserFactory(username="olga@acme.example"), role=Role.OWNER).user


def test_an_admin_sees_the_quotas_read_only(client, acme, alice):
    client.force_login(alice)
    page = client.get(settings_url(acme)).content.decode()
    for name in RAISED:
        assert " disabled" in input_tag(page, name)
    assert " disabled" not in input_tag(page, "throttle_days")
    assert "Only an owner can change this." in page


def test_an_admins_crafted_post_of_the_quotas_saves_the_rest_and_leaves_the_quotas(client, acme, alice):
    before = quotas(acme)
    client.force_login(alice)
    response = client.post(settings_url(acme), {**BASE, "name": "Acme Inc", **RAISED}, follow=True)
    assert "Settings saved." in response.content.decode()
    assert quotas(acme) == before
    assert acme.name == "Acme Inc"


def test_an_owner_sees_and_changes_the_quotas(client, acme, olga):
    client.force_login(olga)
    page = client.get(settings_url(acme)).content.decode()
    assert not any(" disabled" in input_tag(page, name) for name in RAISED)
    response = client.post(settings_url(acme), {**BASE, **RAISED}, follow=True)
    assert "Settings saved." in response.content.decode()
    assert quotas(acme) == (90000, 900000, 9000)


def test_the_service_refuses_quota_changes_by_an_admin(acme, alice):
    admin = Membership.objects.get(account=acme, user=alice)
    before = quotas(acme)
    with pytest.raises(ValidationError) as caught:
        services.update_account_settings(account=acme, changes={"send_recipient_cap": 9000}, by=admin)
    assert "send_recipient_cap" in caught.value.message_dict
    assert quotas(acme) == before


def test_mallory_cannot_reach_acme_settings(client, acme, mallory):
    client.force_login(mallory)
    assert client.post(settings_url(acme), {**BASE, **RAISED}).status_code == 404
