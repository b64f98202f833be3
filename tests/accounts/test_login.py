"""Log-in, log-out and brute-force protection (django-axes: 5 failures lock the user name + IP)."""
from __future__ import annotations

from django.urls import reverse

from tests.factories.accounts import PASSWORD

LOGIN = reverse("accounts:login")


def attempt(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_a_member_logs_in_lands_on_their_account_and_logs_out(client, acme, alice):
    response = attempt(client, "alice@acme.example", PASSWORD)
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/app/acme/"
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get("/app/acme/")["Location"].startswith(LOGIN)


def test_a_wrong_password_says_so(client, acme, alice):
    response = attempt(client, "alice@acme.example", "nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


def test_the_sixth_attempt_after_five_failures_is_locked_out_even_with_the_right_password(client, acme, alice):
    for _ in range(5):
        attempt(client, "alice@acme.example", "wrong-guess")
    locked = attempt(client, "alice@acme.example", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_resets_the_failure_count(client, acme, alice):
    for _ in range(4):
        attempt(client, "alice@acme.example", "wrong-guess")
    assert attempt(client, "alice@acme.example", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "alice@acme.example", "wrong-guess").status_code == 200
    assert attempt(client, "alice@acme.example", PASSWORD).status_code == 302


def test_mallory_locking_herself_out_does_not_lock_alice(client, acme, alice, mallory):
    for _ in range(6):
        attempt(client, "mallory@globex.example", "wrong-guess")
    assert attempt(client, "mallory@globex.example", PASSWORD).status_code == 429
    assert attempt(client, "alice@acme.example", PASSWORD).status_code == 302
