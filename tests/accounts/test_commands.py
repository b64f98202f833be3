"""Management commands: createaccount prints a working API key; demo is idempotent."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIRequestFactory

from accounts.api_auth import ApiKeyAuthentication
from accounts.models import Account, Membership, Role
from accounts.scoping import cross_account


def test_createaccount_prints_an_api_key_that_authenticates(db):
    out = StringIO()
    call_command("createaccount", "--name", "Umbrella", "--owner-email", "Alice@Umbrella.example",
                 "--password", "red-queen-passphrase", stdout=out)
    lines = out.getvalue().splitlines()
    [key_line] = [line for line in lines if line.startswith("API key: ")]
    raw = key_line.removeprefix("API key: ")
    account = Account.objects.get(name="Umbrella")
    membership = Membership.objects.get(account=account)
    assert membership.role == Role.OWNER and membership.user.username == "alice@umbrella.example"
    assert membership.user.check_password("red-queen-passphrase")
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    user, key = ApiKeyAuthentication().authenticate(request)
    assert user.account == account and key.account == account
    assert any(line.startswith("Log in at: ") and "/accounts/login/" in line for line in lines)


def test_createaccount_refuses_a_blank_name(db):
    with pytest.raises(CommandError, match="name"):
        call_command("createaccount", "--name", "  ", "--owner-email", "x@y.example", stdout=StringIO())
    assert not Account.objects.exists()


def counts() -> dict[str, int]:
    from django.apps import apps

    with cross_account():
        return {m._meta.label: m.objects.count() for m in apps.get_models()
                if m._meta.app_label in ("accounts", "surveys", "responses")}


def test_demo_twice_changes_nothing_the_second_time(db):
    first = StringIO()
    call_command("demo", "--people", "12", "--days", "20", stdout=first)
    assert "Demo account created." in first.getvalue()
    before = counts()
    assert before["accounts.Account"] == 1 and before["surveys.Person"] == 12
    second = StringIO()
    call_command("demo", "--people", "12", "--days", "20", stdout=second)
    assert "Demo account already there." in second.getvalue()
    assert counts() == before
