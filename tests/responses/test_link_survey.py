"""Link surveys /s/<public-id>: query parameters become properties, every submit a fresh response."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope
from responses.models import Response
from surveys.models import Survey

pytestmark = pytest.mark.django_db


def link_responses(survey):
    with account_scope(survey.account):
        return list(Response.objects.filter(survey=survey).order_by("id"))


def test_a_score_in_the_url_is_preselected_and_records_nothing_on_get(client, survey):
    page = client.get(f"/s/{survey.public_id}?score=10&ticket=T-42").content.decode()
    assert 'value="10" checked' in page
    assert link_responses(survey) == []


def test_each_submit_creates_a_response_with_the_query_as_properties(client, survey):
    url = f"/s/{survey.public_id}?ticket=T-42&agent=Ann"
    first = client.post(url, {"score": "10", "comment": "Ann was great"})
    assert first.status_code == 302
    assert "Promoters rock" in client.get(first["Location"]).content.decode()
    client.post(url, {"score": "4"})
    one, two = link_responses(survey)
    assert (one.channel, one.properties, one.invitation_id, one.person_id) == (
        "link", {"ticket": "T-42", "agent": "Ann"}, None, None)
    assert (one.comment, two.score) == ("Ann was great", 4)


def test_a_filled_honeypot_field_is_thanked_and_not_stored(client, survey):
    response = client.post(f"/s/{survey.public_id}", {"score": "10", "website": "http://spam.example"})
    assert response.status_code == 200
    assert link_responses(survey) == []


def test_too_many_properties_are_refused(client, survey):
    query = "&".join(f"p{i}=v" for i in range(40))
    response = client.post(f"/s/{survey.public_id}?{query}", {"score": "9"})
    assert response.status_code == 400
    assert "At most 30 properties." in response.content.decode()
    assert link_responses(survey) == []


def test_a_paused_survey_link_is_closed_and_an_unknown_one_missing(client, survey):
    with account_scope(survey.account):
        Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.PAUSED)
    assert client.get(f"/s/{survey.public_id}").status_code == 410
    assert client.get("/s/nope").status_code == 404


def test_mallory_signed_in_cannot_see_link_answers_of_acme(client, mallory, survey):
    client.post(f"/s/{survey.public_id}", {"score": "9", "comment": "acme only"})
    client.force_login(mallory)
    [response] = link_responses(survey)
    assert client.get(f"/app/globex/responses/{response.pk}/").status_code == 404
    assert client.get(f"/app/acme/responses/{response.pk}/").status_code == 404
