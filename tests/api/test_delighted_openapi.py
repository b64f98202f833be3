"""/api/schema/ documents the Delighted-compatible routes next to the REST API."""
from __future__ import annotations

import re

import pytest

from integrations.delighted import urls as delighted_urls

pytestmark = pytest.mark.django_db


def test_every_v1_route_and_method_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    documented = {path: {m for m in item if m != "parameters"} for path, item in schema["paths"].items()
                  if path.startswith("/v1/")}
    for pattern in delighted_urls.urlpatterns:
        view = pattern.callback
        methods = getattr(view, "delighted_methods", None)
        if not methods:
            continue  # the JSON 404 catch-all and the import page
        route = re.sub(r"\(\?P<fmt>.*$", "", pattern.pattern.regex.pattern.lstrip("^"))
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
        path = path.replace("{pk}", "{id}")
        assert path in documented, path
        assert {m.lower() for m in methods} == documented[path], path


def test_the_trend_parameter_and_basic_auth_are_documented(client):
    schema = client.get("/api/schema/?format=json").json()
    listing = schema["paths"]["/v1/survey_responses"]["get"]
    assert "trend" in {p["name"] for p in listing["parameters"]}
    assert schema["components"]["securitySchemes"]["delightedBasic"]["scheme"] == "basic"
    assert "/api/v1/trends" in schema["paths"]
