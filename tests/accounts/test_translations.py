"""The accounts pages and the layout speak German and Finnish (compiled catalogues in locale/)."""
from __future__ import annotations


def test_the_log_in_page_is_german_for_a_german_browser(client, db):
    body = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Bei Verbatim anmelden" in body and "Passwort vergessen?" in body


def test_the_members_page_is_finnish_for_a_finnish_browser(client, acme, alice):
    client.force_login(alice)
    body = client.get("/app/acme/settings/members/", HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert "Kutsu kollega" in body and "Vaihda rooli" in body and "Kyselyt" in body


def test_mallory_sees_acme_nowhere_in_german_either(client, acme, mallory):
    client.force_login(mallory)
    assert client.get("/app/acme/settings/", HTTP_ACCEPT_LANGUAGE="de").status_code == 404
