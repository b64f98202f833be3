"""Saved trends: managed through /api/v1/trends, used as ``trend=<id>`` on /v1/survey_responses and /v1/metrics."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope
from integrations.delighted.models import Trend
from integrations.delighted.services import survey_for_key
from responses.rollups import rebuild_rollups
from tests.api.test_delighted_wire import call
from tests.factories import PersonFactory, ResponseFactory, TrendFactory

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post_json(client, path: str, body: dict, key: str, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **bearer(key), **headers)


@pytest.fixture
def pro_and_free(acme, acme_key):
    """In acme's project: 2 pro responses (a 10 and a 3) and 1 free response (a 9), all recent."""
    with account_scope(acme):
        survey = survey_for_key(acme.api_keys.get())
        now = timezone.now()
        pro = PersonFactory(account=acme, properties={"segment": "enterprise"})
        rows = {
            "pro_promoter": ResponseFactory(account=acme, survey=survey, person=pro, score=10,
                                            properties={"plan": "pro"}, created_at=now - timedelta(hours=3)),
            "pro_detractor": ResponseFactory(account=acme, survey=survey, person=PersonFactory(account=acme),
                                             score=3, properties={"plan": "pro"}, comment="",
                                             created_at=now - timedelta(hours=2)),
            "free": ResponseFactory(account=acme, survey=survey, person=PersonFactory(account=acme), score=9,
                                    properties={"plan": "free"}, created_at=now - timedelta(hours=1)),
        }
        # The factory writes no rollups; /v1/metrics reads whole days from them (before 03:00 UTC the
        # rows above fall on the previous, whole day).
        rebuild_rollups(account=acme)
    return rows


def test_a_trend_created_through_the_rest_api_filters_the_delighted_listing(client, acme, acme_key, pro_and_free):
    created = post_json(client, "/api/v1/trends", {"name": "Pro plan", "filters": {"properties": {"plan": "pro"}}},
                        acme_key)
    assert created.status_code == 201, created.content
    trend_id = created.json()["id"]
    assert isinstance(trend_id, str) and created.json()["filters"] == {"properties": {"plan": "pro"}}

    listed = call(client, "GET", f"/v1/survey_responses.json?trend={trend_id}", acme_key)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [str(pro_and_free["pro_promoter"].pk),
                                                str(pro_and_free["pro_detractor"].pk)]
    everything = call(client, "GET", "/v1/survey_responses.json", acme_key).json()
    assert len(everything) == 3

    assert [t["name"] for t in client.get("/api/v1/trends", **bearer(acme_key)).json()["results"]] == ["Pro plan"]


def test_trend_metrics_count_only_the_trends_responses(client, acme, acme_key, pro_and_free):
    with account_scope(acme):
        trend = TrendFactory(account=acme, filters={"properties": {"plan": "pro"}})
    metrics = call(client, "GET", f"/v1/metrics?trend={trend.pk}", acme_key).json()
    assert metrics == {"nps": 0, "promoter_count": 1, "promoter_percent": 50, "passive_count": 0,
                       "passive_percent": 0, "detractor_count": 1, "detractor_percent": 50, "response_count": 2}
    since = int((timezone.now() - timedelta(days=1)).timestamp())
    windowed = call(client, "GET", f"/v1/metrics?trend={trend.pk}&since={since}", acme_key).json()
    assert windowed["response_count"] == 2
    assert call(client, "GET", "/v1/metrics", acme_key).json()["response_count"] == 3


def test_person_properties_scores_and_comments_combine_in_one_trend(client, acme, acme_key, pro_and_free):
    with account_scope(acme):
        enterprise = TrendFactory(account=acme, filters={"person_properties": {"segment": "enterprise"}})
        silent_detractors = TrendFactory(account=acme, filters={"score_max": 6, "has_comment": False})
    ids = [r["id"] for r in call(client, "GET", f"/v1/survey_responses?trend={enterprise.pk}", acme_key).json()]
    assert ids == [str(pro_and_free["pro_promoter"].pk)]
    ids = [r["id"] for r in call(client, "GET", f"/v1/survey_responses?trend={silent_detractors.pk}", acme_key).json()]
    assert ids == [str(pro_and_free["pro_detractor"].pk)]


def test_an_unknown_trend_or_another_accounts_trend_is_a_422_naming_trend(client, acme, acme_key, globex):
    with account_scope(globex):
        theirs = TrendFactory(account=globex)
    for value in ("999999", str(theirs.pk), "abc", "99999999999999999999999"):
        for path in ("/v1/survey_responses", "/v1/metrics"):
            response = call(client, "GET", f"{path}?trend={value}", acme_key)
            assert response.status_code == 422, (path, value)
            assert response.json() == {"status": 422, "message": "Unprocessable Entity",
                                       "errors": {"trend": ["is unknown"]}}


def test_bad_trend_filters_are_a_400_naming_the_field_and_nothing_is_written(client, acme, acme_key):
    for body, field in (({"name": "x", "filters": {"colour": "red"}}, "colour"),
                        ({"name": "x", "filters": {"score_max": 11}}, "score_max"),
                        ({"name": "x", "filters": {"properties": ["plan"]}}, "properties"),
                        ({"name": "", "filters": {}}, "name"),
                        ({"name": "x", "owner": 3}, "owner")):
        response = post_json(client, "/api/v1/trends", body, acme_key)
        assert response.status_code == 400, body
        assert field in json.dumps(response.json()["errors"]), (field, response.json())
    with account_scope(acme):
        assert not Trend.objects.exists()


def test_mallory_cannot_see_or_delete_acme_trends(client, acme, globex, globex_key):
    with account_scope(acme):
        trend = TrendFactory(account=acme)
    assert client.get(f"/api/v1/trends/{trend.pk}", **bearer(globex_key)).status_code == 404
    assert client.delete(f"/api/v1/trends/{trend.pk}", **bearer(globex_key)).status_code == 404
    assert client.get("/api/v1/trends", **bearer(globex_key)).json()["results"] == []
    with account_scope(acme):
        assert Trend.objects.filter(pk=trend.pk).exists()


def test_the_python_client_lists_and_measures_a_trend(delighted_client, acme, pro_and_free):
    with account_scope(acme):
        trend = TrendFactory(account=acme, filters={"properties": {"plan": "free"}})
    responses = delighted_client.SurveyResponse.all(trend=str(trend.pk))
    assert [r.id for r in responses] == [str(pro_and_free["free"].pk)]
    assert delighted_client.Metrics.retrieve(trend=str(trend.pk)).response_count == 1


def test_patch_renames_a_trend_or_replaces_its_filters_and_refuses_unknown_fields(client, acme, acme_key,
                                                                                   pro_and_free):
    with account_scope(acme):
        trend = TrendFactory(account=acme, name="Pro", filters={"properties": {"plan": "pro"}})
    url = f"/api/v1/trends/{trend.pk}"
    renamed = client.patch(url, json.dumps({"name": "Free"}), content_type="application/json", **bearer(acme_key))
    assert renamed.status_code == 200 and renamed.json()["filters"] == {"properties": {"plan": "pro"}}
    refiltered = client.patch(url, json.dumps({"filters": {"properties": {"plan": "free"}}}),
                              content_type="application/json", **bearer(acme_key))
    assert refiltered.status_code == 200 and refiltered.json()["name"] == "Free"
    ids = [r["id"] for r in call(client, "GET", f"/v1/survey_responses?trend={trend.pk}", acme_key).json()]
    assert ids == [str(pro_and_free["free"].pk)]
    bad = client.patch(url, json.dumps({"id": "3", "filters": {"score_min": -1}}), content_type="application/json",
                       **bearer(acme_key))
    assert bad.status_code == 400 and "id" in bad.json()["errors"]
    assert client.put(url, json.dumps({"name": "x"}), content_type="application/json",
                      **bearer(acme_key)).status_code == 405
    with account_scope(acme):
        assert Trend.objects.get().filters == {"properties": {"plan": "free"}}


def test_unicode_digits_that_int_cannot_read_are_refused_not_a_500(client, acme, acme_key):
    # schemathesis found these: "²".isdigit() is True but int("²") raises; ids are parsed with isdecimal()
    assert call(client, "GET", "/v1/survey_responses.json?trend=%C2%B2", acme_key).status_code == 422
    missing = call(client, "GET", "/v1/survey_responses/%C2%B3.json", acme_key)
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert call(client, "GET", "/v1/survey_responses.json?person_id=%C2%B9", acme_key).json() == []
