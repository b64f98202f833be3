"""Responses export: CSV (streamed) and XLSX with every answer and property, read back."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from accounts.scoping import account_scope
from responses.models import Answer
from tests.factories import QuestionFactory
from tests.reports.conftest import answer


def make_responses(survey):
    resolved = QuestionFactory(account=survey.account, survey=survey, kind="yes_no", text="Resolved?",
                               is_resolution=True)
    improve = QuestionFactory(account=survey.account, survey=survey, kind="multiple", text="Improve what?")
    first = answer(survey, 9, comment='Great, "really" great', properties={"store": "Berlin", "plan": "pro"})
    second = answer(survey, 3, comment="=HYPERLINK(\"http://evil\")", properties={"store": "Paris"})
    with account_scope(survey.account):
        Answer.objects.create(account=survey.account, response=first, question=resolved, value=True)
        Answer.objects.create(account=survey.account, response=second, question=resolved, value=False)
        Answer.objects.create(account=survey.account, response=second, question=improve, value=["Price", "App"],
                              other_text="the login")
    return resolved, improve


def test_the_csv_export_has_every_answer_and_property(client, alice, nps_survey):
    resolved, improve = make_responses(nps_survey)
    client.force_login(alice)
    response = client.get(f"/app/acme/reports/export/responses?format=csv&survey={nps_survey.pk}")
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r["score"] for r in rows] == ["9", "3"]
    assert rows[0]["comment"] == 'Great, "really" great'
    assert rows[0][f"Q{resolved.pk}: Resolved?"] == "yes" and rows[1][f"Q{resolved.pk}: Resolved?"] == "no"
    assert rows[1][f"Q{improve.pk}: Improve what?"] == "Price; App; other: the login"
    assert rows[0]["property: store"] == "Berlin" and rows[0]["property: plan"] == "pro"
    assert rows[1]["property: plan"] == ""
    assert rows[1]["comment"].startswith("'=")  # a formula is neutralised
    assert rows[0]["group"] == "promoter" and rows[1]["group"] == "detractor"


def test_the_xlsx_export_reads_back_the_same_rows(client, alice, nps_survey):
    resolved, _improve = make_responses(nps_survey)
    client.force_login(alice)
    response = client.get(f"/app/acme/reports/export/responses?format=xlsx&survey={nps_survey.pk}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)["Responses"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:3] == ["id", "survey", "score"]
    assert [r[2] for r in rows[1:]] == [9, 3]
    assert rows[1][header.index(f"Q{resolved.pk}: Resolved?")] == "yes"
    assert rows[1][header.index("property: store")] == "Berlin"


def test_an_export_pages_through_many_responses_in_order(acme, nps_survey):
    from reports import exports, selectors
    from reports.periods import Period

    for i in range(7):
        answer(nps_survey, i % 11)
    exports_chunk, exports.CHUNK = exports.CHUNK, 3  # pages of 3: the keyset paging must not skip or repeat
    try:
        with account_scope(acme):
            from django.utils import timezone

            today = timezone.now().astimezone(acme.tz).date()
            scope = selectors.Scope(acme, (nps_survey,), Period(today, today))
            rows = list(exports.export_rows(selectors.raw_responses(scope)))
    finally:
        exports.CHUNK = exports_chunk
    assert [r[2] for r in rows[1:]] == list(range(7))


def test_mallory_cannot_export_acme_responses(client, mallory, nps_survey):
    make_responses(nps_survey)
    client.force_login(mallory)
    assert client.get("/app/acme/reports/export/responses?format=xlsx").status_code == 404
    body = b"".join(client.get("/app/globex/reports/export/responses?format=csv").streaming_content)
    assert b"Berlin" not in body
