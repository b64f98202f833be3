"""Sign-up creates an account, its owner and the default NPS survey, then logs in."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Account, Membership, Role
from accounts.scoping import account_scope
from tests.factories import UserFactory

SIGNUP = reverse("accounts:signup")


def test_sign_up_creates_the_account_its_owner_and_a_default_nps_survey(client, db):
    response = client.post(SIGNUP, {"company": "Initech", "email": "Peter@Initech.example",
                                    "password": "stapler-in-the-basement"})
    account = Account.objects.get(name="Initech")
    assert response.status_code == 302 and response["Location"] == f"/app/{account.slug}/"
    user = get_user_model().objects.get(username="peter@initech.example")
    assert Membership.objects.get(account=account, user=user).role == Role.OWNER
    with account_scope(account):
        survey = account.surveys.get()
        assert survey.is_default and survey.kind == "nps"
    dashboard = client.get(response["Location"])
    assert dashboard.status_code == 200
    body = dashboard.content.decode()
    assert "Welcome to Verbatim! Your account is ready." in body
    assert "No feedback yet" in body


def test_sign_up_shows_what_is_wrong_and_creates_nothing(client, db):
    UserFactory(username="taken@initech.example")
    response = client.post(SIGNUP, {"company": "", "email": "taken@initech.example", "password": "password"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required." in body
    assert "An account already uses this email; log in instead." in body
    assert "This password is too common." in body or "too short" in body
    assert 'role="alert"' in body
    assert not Account.objects.exists()


def test_a_password_like_the_email_is_refused(client, db):
    response = client.post(SIGNUP, {"company": "Initech", "email": "samir.nagheenanajar@initech.example",
                                    "password": "samir.nagheenanajar"})
    assert "too similar" in response.content.decode()
    assert not Account.objects.exists()


def test_the_sign_up_page_has_labelled_fields(client, db):
    body = client.get(SIGNUP).content.decode()
    for field in ("company", "email", "password"):
        assert f'<label for="id_{field}">' in body


def test_mallory_signing_up_again_does_not_join_acme(client, acme, alice, mallory):
    response = client.post(SIGNUP, {"company": "Acme", "email": "mallory@globex.example",
                                    "password": "stapler-in-the-basement"})
    assert "An account already uses this email" in response.content.decode()
    assert not Membership.objects.filter(account=acme, user=mallory).exists()
    assert Account.objects.filter(name="Acme").count() == 1


def test_errors_are_tied_to_their_fields_for_screen_readers(client, db):
    body = client.post(SIGNUP, {"company": "", "email": "bad", "password": "x"}).content.decode()
    assert 'aria-invalid="true" aria-describedby="id_company_error" id="id_company"' in body
    assert 'id="id_company_error"' in body
    assert 'aria-describedby="id_password_helptext id_password_error"' in body and 'id="id_password_helptext"' in body
