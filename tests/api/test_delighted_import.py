"""Importing a Delighted CSV export (responses and people): command and page, idempotent."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts.jsonq import has_properties
from accounts.scoping import account_scope
from responses.models import DailyRollup, Response
from surveys.models import Person, Question
from tests.factories import QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db

RESPONSES_CSV = (
    "Response ID,Date,Updated Date,Email,Name,Score,Comment,Tags,Plan,Which channel did you use?\n"
    "101,2024-01-15 10:22:33 -0800,2024-01-15 10:30:00 -0800,Ann@x.com,Ann,10,Love it,\"vip, web\",Pro,Chat\n"
    "102,2024-01-16 09:00:00 +0000,,bo@x.com,Bo,3,Too slow,,Free,\n"
    "103,2024-01-17,,,,42,,,,\n"
)
PEOPLE_CSV = "Email,Name,Phone Number,Created At,Last Sent At,Plan\nann@x.com,Ann,,2024-01-01,1700000000,Pro\n" \
             "bad,,,,,\n,Texter,+14155551212,,,\n"


@pytest.fixture
def nps(acme):
    with account_scope(acme):
        survey = SurveyFactory(account=acme, is_default=True)
        QuestionFactory(account=acme, survey=survey, kind=Question.Kind.SINGLE, text="Which channel did you use?",
                        choices=["Phone", "Chat", "Email"])
    return survey


def run_import(tmp_path, acme, kind: str, content: str) -> dict:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content)
    out = StringIO()
    call_command("import_delighted", kind, str(path), "--account", acme.slug, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_imports_responses_with_people_dates_tags_properties_and_answers(tmp_path, acme, nps):
    result = run_import(tmp_path, acme, "responses", RESPONSES_CSV)
    assert (result["created"], result["skipped"]) == (2, 0)
    assert [e["line"] for e in result["errors"]] == [4]  # score 42 is off the scale
    with account_scope(acme):
        ann = Response.objects.get(has_properties("properties", {"Delighted Response ID": "101"}))
        assert ann.score == 10 and ann.comment == "Love it" and ann.tags == ["vip", "web"]
        assert ann.person.email == "ann@x.com" and ann.person.name == "Ann"
        assert ann.properties["Plan"] == "Pro" and ann.created_at.isoformat() == "2024-01-15T18:22:33+00:00"
        assert ann.updated_at > ann.created_at and ann.channel == "import"
        assert [a.value for a in ann.answers.all()] == ["Chat"]
        assert sum(r.s10 + r.s3 for r in DailyRollup.objects.filter(survey=nps)) == 2


def test_importing_the_same_file_twice_adds_nothing(tmp_path, acme, nps):
    run_import(tmp_path, acme, "responses", RESPONSES_CSV)
    again = run_import(tmp_path, acme, "responses", RESPONSES_CSV)
    assert (again["created"], again["skipped"]) == (0, 2)
    with account_scope(acme):
        assert Response.objects.count() == 2 and Person.objects.count() == 2


def test_the_command_imports_people_idempotently(tmp_path, acme):
    first = run_import(tmp_path, acme, "people", PEOPLE_CSV)
    assert first["created"] == 2 and [e["line"] for e in first["errors"]] == [3]
    second = run_import(tmp_path, acme, "people", PEOPLE_CSV)
    assert second["created"] == 0 and second["skipped"] == 1
    with account_scope(acme):
        ann = Person.objects.get(email="ann@x.com")
        assert ann.properties == {"Plan": "Pro"} and int(ann.last_surveyed_at.timestamp()) == 1700000000


def test_alice_imports_through_the_page(client, acme, alice, nps):
    client.force_login(alice)
    url = "/app/acme/delighted/import"
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("export.csv", RESPONSES_CSV.encode(), content_type="text/csv")
    page = client.post(url, {"kind": "responses", "survey": nps.pk, "file": upload})
    assert page.status_code == 200 and b"2 created" in page.content and b"Line 4" in page.content
    with account_scope(acme):
        assert Response.objects.count() == 2


def test_bob_the_viewer_cannot_import_and_mallory_gets_404(client, acme, bob, mallory, nps):
    client.force_login(bob)
    upload = SimpleUploadedFile("export.csv", RESPONSES_CSV.encode(), content_type="text/csv")
    assert client.post("/app/acme/delighted/import", {"kind": "responses", "survey": nps.pk,
                                                      "file": upload}).status_code == 403
    client.force_login(mallory)
    assert client.get("/app/acme/delighted/import").status_code == 404
    with account_scope(acme):
        assert not Response.objects.exists()
