"""The per-request recipient cap (EM-28) also holds when an import sends a survey to everyone imported."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.scoping import account_scope
from surveys.models import PersonImport

pytestmark = pytest.mark.django_db

# four distinct valid addresses: a bad row and a repeated address do not count
CSV = b"email\na@example.com\nb@example.com\nc@example.com\nbad\nA@example.com\nd@example.com\n"


def upload(client) -> str:
    response = client.post(reverse("surveys:personimport-create", kwargs={"account": "acme"}),
                           {"file": SimpleUploadedFile("people.csv", CSV, "text/csv")})
    return response["Location"]


def set_cap(account, cap: int) -> None:
    account.send_recipient_cap = cap
    account.save(update_fields=["send_recipient_cap"])


def test_an_import_sending_to_more_people_than_the_cap_is_refused_naming_the_limit_and_count(
        client, alice, acme, survey, django_capture_on_commit_callbacks):
    set_cap(acme, 3)
    client.force_login(alice)
    location = upload(client)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(location, {"col_0": "email", "send_survey": survey.pk, "delay_minutes": 0})
    assert response.status_code == 200
    errors = response.context["form"].errors["send_survey"]
    assert "At most 3 recipients per request (this one has 4)" in errors[0]
    assert "At most 3 recipients" in response.content.decode()
    assert callbacks == []  # no import task queued
    with account_scope(acme):  # nothing half-created: no people, no invitations, the import still awaits its mapping
        assert acme.person_imports.get().status == PersonImport.Status.MAPPING
        assert not acme.people.exists()
        assert not survey.invitations.exists()


def test_an_import_sending_to_exactly_the_cap_goes_ahead(client, alice, acme, survey,
                                                         django_capture_on_commit_callbacks):
    set_cap(acme, 4)
    client.force_login(alice)
    location = upload(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(location, {"col_0": "email", "send_survey": survey.pk, "delay_minutes": 0})
    assert response.status_code == 302
    with account_scope(acme):
        assert survey.invitations.count() == 4


def test_an_import_without_a_send_is_not_capped(client, alice, acme, django_capture_on_commit_callbacks):
    set_cap(acme, 1)
    client.force_login(alice)
    location = upload(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(location, {"col_0": "email"}).status_code == 302
    with account_scope(acme):
        assert acme.people.count() == 4
