"""Inviting a colleague by email with a role: the email at a real SMTP server, the link, the role."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberInvite, Membership, Role, hash_secret
from accounts.scoping import account_scope
from tests.factories import MemberInviteFactory

MEMBERS = reverse("accounts:members", kwargs={"account": "acme"})


def invite_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"http://testserver(/accounts/invite/\S+)", body)
    assert match, body
    return match.group(1)


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = "http://testserver"


def test_an_admin_invites_a_new_colleague_who_sets_a_password_and_joins_as_viewer(
        client, acme, alice, smtp_sink, site_url):
    client.force_login(alice)
    response = client.post(MEMBERS, {"email": "Dave@Acme.example", "role": "viewer"}, follow=True)
    assert "Invitation sent to dave@acme.example." in response.content.decode()
    assert "dave@acme.example" in response.content.decode()  # pending list
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "dave@acme.example"
    assert "Acme" in message["Subject"]
    assert message["Reply-To"] == alice.email
    link = invite_link(message)
    with account_scope(acme):
        invite = MemberInvite.objects.get(email="dave@acme.example")
    token = link.rsplit("/", 1)[1]
    assert invite.token_hash == hash_secret(token) and token not in invite.token_hash

    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert "Join Acme on Verbatim" in page.content.decode()
    assert not Membership.objects.filter(account=acme, user__username="dave@acme.example").exists()  # GET: nothing
    weak = client.post(link, {"password": "short"})
    assert weak.status_code == 400
    assert not get_user_model().objects.filter(username="dave@acme.example").exists()
    joined = client.post(link, {"password": "a-long-enough-passphrase"})
    assert joined.status_code == 302 and joined["Location"] == "/app/acme/"
    dave = get_user_model().objects.get(username="dave@acme.example")
    assert dave.check_password("a-long-enough-passphrase")
    assert Membership.objects.get(account=acme, user=dave).role == Role.VIEWER
    assert client.get("/app/acme/").status_code == 200  # logged in
    assert client.post("/app/acme/settings/").status_code == 403  # a viewer

    used = client.get(link)
    assert used.status_code == 404
    assert "no longer works" in used.content.decode()


def test_an_existing_user_logs_in_and_accepts_with_the_invited_role(client, acme, alice, mallory, smtp_sink,
                                                                   site_url):
    client.force_login(alice)
    client.post(MEMBERS, {"email": "mallory@globex.example", "role": "member"})
    link = invite_link(smtp_sink.wait_for(1)[0])
    client.logout()
    page = client.get(link).content.decode()
    assert "Log in to accept" in page and 'name="password"' not in page
    assert client.post(link, {"password": "whatever-it-is-long"}).status_code == 400
    assert not Membership.objects.filter(account=acme, user=mallory).exists()
    client.force_login(mallory)
    response = client.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(account=acme, user=mallory).role == Role.MEMBER
    assert Membership.objects.get(user=mallory, account__slug="globex").role == Role.ADMIN  # still in globex


def test_an_expired_invitation_is_refused(client, acme, db):
    MemberInviteFactory(account=acme, raw="old-token", expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get("/accounts/invite/old-token").status_code == 404
    assert client.post("/accounts/invite/old-token", {"password": "a-long-enough-passphrase"}).status_code == 404
    assert not Membership.objects.filter(account=acme).exists()


def test_an_unknown_or_withdrawn_invitation_is_refused(client, acme, alice):
    invite = MemberInviteFactory(account=acme, raw="live-token")
    assert client.get("/accounts/invite/live-token").status_code == 200
    client.force_login(alice)
    client.post(reverse("accounts:memberinvite-delete", kwargs={"account": "acme", "pk": invite.pk}))
    client.logout()
    assert client.get("/accounts/invite/live-token").status_code == 404
    assert client.get("/accounts/invite/never-issued").status_code == 404


def test_only_an_owner_invites_an_owner_and_members_are_not_invited_twice(client, acme, alice, carol, smtp_sink):
    client.force_login(alice)
    response = client.post(MEMBERS, {"email": "boss@acme.example", "role": "owner"})
    assert response.status_code == 400
    assert "Only an owner can grant" in response.content.decode()
    response = client.post(MEMBERS, {"email": "carol@acme.example", "role": "viewer"})
    assert "This person is already a member." in response.content.decode()
    with account_scope(acme):
        assert not MemberInvite.objects.exists()
    assert smtp_sink.messages == []


def test_a_new_invitation_replaces_the_pending_one(client, acme, alice, smtp_sink, site_url):
    client.force_login(alice)
    client.post(MEMBERS, {"email": "erin@acme.example", "role": "viewer"})
    client.post(MEMBERS, {"email": "erin@acme.example", "role": "admin"})
    first, second = smtp_sink.wait_for(2)
    client.logout()
    assert client.get(invite_link(first)).status_code == 404
    client.post(invite_link(second), {"password": "a-long-enough-passphrase"})
    assert Membership.objects.get(account=acme, user__username="erin@acme.example").role == Role.ADMIN


def test_an_invite_never_demotes_an_existing_member(acme, alice, carol):
    from accounts import services

    with account_scope(acme):
        invite, _raw = services.invite_member(account=acme, email="new@acme.example", role=Role.VIEWER,
                                              by=Membership.objects.get(user=alice))
    membership = services.accept_invite(invite=invite, user=alice)
    assert membership.role == Role.ADMIN


def test_mallory_cannot_see_or_withdraw_acme_invitations(client, acme, alice, mallory):
    invite = MemberInviteFactory(account=acme, email="secret@acme.example")
    client.force_login(mallory)
    assert client.get(MEMBERS).status_code == 404
    url = reverse("accounts:memberinvite-delete", kwargs={"account": "globex", "pk": invite.pk})
    assert client.post(url).status_code == 404
    with account_scope(acme):
        assert MemberInvite.objects.filter(pk=invite.pk).exists()
    assert "secret@acme.example" not in client.get("/app/globex/settings/members/").content.decode()


def test_a_mail_server_that_is_down_is_reported_and_the_invite_can_be_sent_again(
        client, acme, alice, smtp_sink, settings, site_url):
    from tests.conftest import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there
    client.force_login(alice)
    response = client.post(MEMBERS, {"email": "fay@acme.example", "role": "member"}, follow=True)
    assert "the email could not be sent" in response.content.decode()
    settings.EMAIL_PORT = smtp_sink.port
    client.post(MEMBERS, {"email": "fay@acme.example", "role": "member"})
    link = invite_link(smtp_sink.wait_for(1)[0])
    client.logout()
    assert client.get(link).status_code == 200
    with account_scope(acme):
        assert MemberInvite.objects.filter(email="fay@acme.example").count() == 1
