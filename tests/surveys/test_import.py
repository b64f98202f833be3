"""CSV import of people: upload, map, preview, background job with progress, bad rows reported."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.scoping import account_scope
from surveys import services
from surveys.models import PersonImport
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"surveys:{name}", kwargs={"account": "acme", **kwargs})


def upload(client, content: bytes, name="people.csv"):
    return client.post(url("personimport-create"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def big_csv(rows: int) -> tuple[bytes, dict[int, str]]:
    """rows people; every 97th row has a bad email, every 131st repeats an earlier address."""
    lines, bad = ["Email,Full Name,Plan,Country"], {}
    for i in range(rows):
        line_no = i + 2
        if i % 97 == 5:
            lines.append(f"not-an-email-{i},Person {i},pro,FI")
            bad[line_no] = "invalid email"
        elif i % 131 == 7:
            lines.append(f"person{i - 1}@example.com,Again {i},pro,FI")
            bad[line_no] = "duplicate"
        else:
            lines.append(f"person{i}@example.com,Person {i},{'pro' if i % 2 else 'free'},FI")
    return ("\n".join(lines) + "\n").encode(), bad


def test_ten_thousand_rows_with_bad_rows_mixed_in(client, alice, acme, django_capture_on_commit_callbacks):
    client.force_login(alice)
    content, bad = big_csv(10_000)
    response = upload(client, content)
    assert response.status_code == 302
    mapping_page = client.get(response["Location"])
    assert mapping_page.context["header"] == ["Email", "Full Name", "Plan", "Country"]
    assert len(mapping_page.context["preview"]) == 5
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"], {"col_0": "email", "col_1": "name", "col_2": "property:Plan",
                                                     "col_3": "property:Country", "delay_minutes": 0})
    assert started.status_code == 302
    with account_scope(acme):
        job = acme.person_imports.get()
        assert job.status == PersonImport.Status.DONE
        assert job.error_count == len(bad)
        assert job.created_count == 10_000 - len(bad) and job.updated_count == 0
        assert acme.people.count() == 10_000 - len(bad)
        reported = {e["line"]: e["reason"] for e in job.errors}
        assert set(reported) == set(bad)
        assert all(kind.split()[0] in reported[line] for line, kind in bad.items())
        person = acme.people.get(email="person1@example.com")
        assert person.name == "Person 1" and person.properties == {"Plan": "pro", "Country": "FI"}
    progress = client.get(url("personimport-progress", pk=job.pk)).json()
    assert progress["percent"] == 100 and progress["errors"] == len(bad)
    page = client.get(url("personimport-detail", pk=job.pk)).content.decode()
    assert "Rows left out" in page


def test_importing_the_same_file_twice_updates_instead_of_duplicating(client, alice, acme,
                                                                        django_capture_on_commit_callbacks):
    client.force_login(alice)
    with account_scope(acme):
        PersonFactory(account=acme, email="ann@example.com", name="Ann", properties={"plan": "free", "seat": "1"})
    content = b"email,name,plan\nANN@example.com,,pro\nbob@example.com,Bob,free\n"
    for _ in range(2):
        location = upload(client, content)["Location"]
        with django_capture_on_commit_callbacks(execute=True):
            client.post(location, {"col_0": "email", "col_1": "name", "col_2": "property:plan"})
    with account_scope(acme):
        assert acme.people.count() == 2
        ann = acme.people.get(email="ann@example.com")
        assert ann.name == "Ann" and ann.properties == {"plan": "pro", "seat": "1"}


def test_a_file_in_the_wrong_encoding_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    response = upload(client, "email,name\nzoë@example.com,Zoë\n".encode("latin-1"))
    assert response.status_code == 200
    assert "UTF-8" in str(response.context["form"].errors["file"])


def test_a_mapping_without_an_email_column_is_refused(client, alice, acme):
    client.force_login(alice)
    location = upload(client, b"name,plan\nAnn,pro\n")["Location"]
    response = client.post(location, {"col_0": "name", "col_1": "property:plan"})
    assert response.status_code == 200
    assert "email" in str(response.context["form"].errors)
    with account_scope(acme):
        assert acme.person_imports.get().status == PersonImport.Status.MAPPING


def test_an_import_can_send_a_survey_to_everyone_imported(client, alice, acme, survey,
                                                          django_capture_on_commit_callbacks):
    client.force_login(alice)
    location = upload(client, b"email\na@example.com\nb@example.com\nbad\n")["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(location, {"col_0": "email", "send_survey": survey.pk, "delay_minutes": 0})
    with account_scope(acme):
        assert sorted(survey.invitations.values_list("person__email", flat=True)) == ["a@example.com",
                                                                                       "b@example.com"]
        job = acme.person_imports.get()
        services.run_person_import(account=acme, import_id=job.pk)  # a second delivery does nothing
        assert survey.invitations.count() == 2


def test_mallory_cannot_see_acme_imports(client, mallory, alice, acme):
    client.force_login(alice)
    location = upload(client, b"email\na@example.com\n")["Location"]
    client.force_login(mallory)
    assert client.get(location).status_code == 404
    with account_scope(acme):
        job = acme.person_imports.get()
    assert client.get(reverse("surveys:personimport-progress", kwargs={"account": "globex", "pk": job.pk})
                      ).status_code == 404
