"""Password reset by email: a link at the real SMTP sink, usable once."""
from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories.accounts import PASSWORD


def test_a_user_resets_their_password_through_the_emailed_link(client, acme, alice, smtp_sink, settings):
    settings.SITE_URL = "https://verbatim.example"
    response = client.post(reverse("accounts:password_reset"), {"email": "alice@acme.example"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "alice@acme.example"
    assert message["Subject"] == "Reset your Verbatim password"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https://verbatim\.example(/accounts/reset/\S+/)", body).group(1)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password("a-brand-new-passphrase") and not alice.check_password(PASSWORD)

    again = client.get(link, follow=True)
    assert "This reset link no longer works" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, db, smtp_sink):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.example"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert smtp_sink.messages == []


def test_the_log_in_page_links_to_password_reset(client, db):
    assert reverse("accounts:password_reset") in client.get(reverse("accounts:login")).content.decode()


def test_mallory_cannot_use_a_reset_link_for_alice_with_her_own_token(client, acme, alice, mallory, smtp_sink):
    client.post(reverse("accounts:password_reset"), {"email": "mallory@globex.example"})
    body = smtp_sink.wait_for(1)[0].get_body(("plain",)).get_content()
    uid, token = re.search(r"/accounts/reset/([^/]+)/([^/\s]+)/", body).groups()
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    alice_uid = urlsafe_base64_encode(force_bytes(alice.pk))
    page = client.get(f"/accounts/reset/{alice_uid}/{token}/", follow=True)
    assert "This reset link no longer works" in page.content.decode()
    assert get_user_model().objects.get(pk=alice.pk).check_password(PASSWORD)
    assert uid != alice_uid
