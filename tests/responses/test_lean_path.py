"""The respondent's JSON submit on its own middleware stack (responses/handler.py, config/wsgi.py).

Each test calls production's WSGI application (``config.wsgi.application``) with a real WSGI
environ and checks which handler answered (``_handler_class``, set by Django's WSGI handler): the
JSON submit to ``/r/<token>`` through ``RespondentHandler``, everything else through Django's. Where
both stacks can answer the same request (``application.full`` is production's full stack), the
answers are compared.

``production_client()`` is Django's test client dispatching as ``config/wsgi.py`` does; the
test_lean_path_rerun_* modules run the respondent's existing tests with it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from django.utils import translation
from django_scopes.state import state

from accounts.scoping import account_scope, cross_account
from config.wsgi import application
from responses import ratelimit
from responses.handler import RespondentHandler, is_respondent_submit
from responses.models import Answer, Response
from tests.responses.conftest import Link, mint_link
from tests.responses.test_rate_limits import redis_cache  # noqa: F401  (the fixture: a fresh Redis window)

pytestmark = pytest.mark.django_db

CSRF = "leancsrftoken0123456789abcdefghi"  # a 32-character secret, as the page's cookie holds
NONCE = re.compile(r"nonce-[^']+'|nonce=\"[^\"]+\"")


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """A WSGI handler closes stale connections at the start and end of a request; inside the test's
    transaction that would close the test's connection (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class LeanClientHandler(ClientHandler):
    """The test client's handler on the respondent's middleware stack."""

    load_middleware = RespondentHandler.load_middleware


class ProductionClientHandler:
    """The test client's handler dispatching as ``config/wsgi.py`` does; counts the lean path's answers."""

    def __init__(self, enforce_csrf_checks: bool) -> None:
        self.full = ClientHandler(enforce_csrf_checks)
        self.lean = LeanClientHandler(enforce_csrf_checks)
        self.lean_answers = 0

    def __call__(self, environ: dict[str, Any]) -> HttpResponse:
        if is_respondent_submit(environ):
            self.lean_answers += 1
            return self.lean(environ)
        return self.full(environ)


def production_client(enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.handler = ProductionClientHandler(enforce_csrf_checks)
    return client


def environ(method: str, path: str, body: bytes | str = b"", content_type: str = "application/json",
            csrf: str | None = CSRF, cookie: str | None = CSRF, **headers: str) -> dict[str, Any]:
    """The environ gunicorn hands the application: JSON, the page's CSRF cookie and X-CSRFToken header."""
    factory = RequestFactory()
    extra = {"HTTP_ACCEPT": "application/json", **headers}
    if csrf is not None:
        extra["HTTP_X_CSRFTOKEN"] = csrf
    if cookie is not None:
        factory.cookies["csrftoken"] = cookie
    if method == "GET":
        return factory.get(path, **extra).environ
    return factory.generic(method, path, body, content_type=content_type, **extra).environ


def call(env: dict[str, Any], app: Any = application) -> HttpResponse:
    replies: list[tuple[str, list[tuple[str, str]]]] = []
    response = app(env, lambda status, headers: replies.append((status, headers)))
    assert replies and replies[0][0].startswith(str(response.status_code))
    response.close()
    return response


def submit(link: Link, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return environ("POST", link.url, json.dumps(body), **kwargs)


def served_by_lean(response: HttpResponse) -> bool:
    return response._handler_class is RespondentHandler


def test_the_json_submit_is_answered_by_the_respondent_stack(link, questions):
    ease = questions["How easy was sign-up?"]
    response = call(submit(link, {"score": 9, "comment": "Quick", "answers": {str(ease.pk): 4}}))
    assert served_by_lean(response)
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["thanks_url"] == f"/r/{link.token}/thanks"
    with account_scope(link.invitation.account):
        saved = Response.objects.get(invitation=link.invitation)
        assert (body["id"], body["score"], body["group"]) == (saved.pk, 9, "promoter")
        assert saved.comment == "Quick"
        assert {a.question_id: a.value for a in Answer.objects.filter(response=saved)} == {ease.pk: 4}
    assert state.get() in (None, {})  # ScopeResetMiddleware: no scope outlives the request


def test_a_second_submit_updates_through_the_same_stack(link):
    assert call(submit(link, {"score": 3})).status_code == 200
    response = call(submit(link, {"score": 8, "comment": "Better now"}))
    assert served_by_lean(response) and response.status_code == 200
    with account_scope(link.invitation.account):
        assert [(r.score, r.comment) for r in Response.objects.filter(invitation=link.invitation)] == [
            (8, "Better now")]


@pytest.mark.parametrize(("csrf", "cookie"), [(None, None), (None, CSRF), (CSRF, None),
                                              ("wrongcsrftoken0123456789abcdefgh", CSRF)],
                         ids=["no-token", "no-header", "no-cookie", "wrong-header"])
def test_without_a_valid_csrf_token_it_is_refused_as_on_the_full_stack(link, csrf, cookie):
    lean = call(submit(link, {"score": 9}, csrf=csrf, cookie=cookie))
    full = call(submit(link, {"score": 9}, csrf=csrf, cookie=cookie), application.full)
    assert served_by_lean(lean) and full._handler_class is WSGIHandler
    assert lean.status_code == full.status_code == 403
    assert NONCE.sub("", lean.content.decode()) == NONCE.sub("", full.content.decode())
    assert f'href="{link.url}"' in lean.content.decode()  # the friendly page offers the page again
    assert sorted(lean.headers) == sorted(full.headers)
    assert "'nonce-" in lean["Content-Security-Policy"]
    with cross_account():
        assert not Response.objects.exists()


def test_a_cross_site_origin_is_refused(link):
    response = call(submit(link, {"score": 9}, HTTP_ORIGIN="https://evil.example"))
    assert served_by_lean(response) and response.status_code == 403
    with cross_account():
        assert not Response.objects.exists()


def test_the_answer_has_the_same_headers_as_on_the_full_stack(survey):
    first, second = mint_link(survey), mint_link(survey)
    lean = call(submit(first, {"score": 10}))
    full = call(submit(second, {"score": 10}), application.full)
    assert served_by_lean(lean) and lean.status_code == full.status_code == 200
    assert sorted(lean.headers) == sorted(full.headers)
    for name in ("Content-Type", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy",
                 "X-Frame-Options", "Cache-Control", "X-Robots-Tag", "Vary", "Content-Language"):
        assert lean[name] == full[name], name
    assert lean["X-Content-Type-Options"] == "nosniff"
    assert lean["Referrer-Policy"] == "same-origin"
    assert lean["Cache-Control"] == "no-store"
    assert "noindex" in lean["X-Robots-Tag"]
    csp = lean["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'nonce-" in csp
    assert lean["Content-Length"] == str(len(lean.content))


def test_a_validation_error_is_a_json_400(link, questions):
    ease = questions["How easy was sign-up?"]
    response = call(submit(link, {"score": 9, "answers": {str(ease.pk): 99}}))
    assert served_by_lean(response) and response.status_code == 400
    assert list(json.loads(response.content)["errors"]) == [f"q{ease.pk}"]
    broken = call(environ("POST", link.url, "{not json"))
    assert served_by_lean(broken) and broken.status_code == 400
    assert list(json.loads(broken.content)["errors"]) == ["body"]


def test_unknown_and_expired_links_answer_the_full_stacks_pages(survey):
    gone = mint_link(survey)
    with account_scope(survey.account):
        type(gone.invitation).objects.filter(pk=gone.invitation.pk).update(
            token_expires_at=gone.invitation.created_at)
    for path, status in (("/r/no-such-token", 404), (gone.url, 410)):
        lean = call(environ("POST", path, json.dumps({"score": 9})))
        full = call(environ("POST", path, json.dumps({"score": 9})), application.full)
        assert served_by_lean(lean) and lean.status_code == full.status_code == status
        assert NONCE.sub("", lean.content.decode()) == NONCE.sub("", full.content.decode())
        assert sorted(lean.headers) == sorted(full.headers)


def test_error_pages_follow_the_browsers_language_whatever_the_thread_served_before(survey):
    translation.activate("fr")  # what a previous request may have left on this worker thread
    try:
        for language in ("de", "en"):
            lean = call(environ("POST", "/r/no-such-token", "{}", HTTP_ACCEPT_LANGUAGE=language))
            full = call(environ("POST", "/r/no-such-token", "{}", HTTP_ACCEPT_LANGUAGE=language), application.full)
            assert served_by_lean(lean)
            assert lean["Content-Language"] == full["Content-Language"] == language
            assert f'<html lang="{language}">' in lean.content.decode()
            assert NONCE.sub("", lean.content.decode()) == NONCE.sub("", full.content.decode())
    finally:
        translation.deactivate()


def test_a_nul_in_the_query_string_is_refused(link):
    response = call(environ("POST", f"{link.url}?x=%00", json.dumps({"score": 9})))
    assert served_by_lean(response) and response.status_code == 400
    with cross_account():
        assert not Response.objects.exists()


def test_other_requests_go_through_the_full_stack(link):
    form = environ("POST", link.url, "score=9", content_type="application/x-www-form-urlencoded",
                   HTTP_ACCEPT="text/html")
    requests = {
        "form post": form,
        "page": environ("GET", link.url),
        "score page json": environ("POST", link.score_url(9), json.dumps({"score": 9})),
        "thanks": environ("GET", f"{link.url}/thanks"),
        "trailing slash": environ("POST", f"{link.url}/", json.dumps({"score": 9})),
        "link survey": environ("POST", "/s/abc", json.dumps({"score": 9})),
        "put": environ("PUT", link.url, json.dumps({"score": 9})),
    }
    for name, env in requests.items():
        assert not is_respondent_submit(env), name
        assert call(env)._handler_class is WSGIHandler, name
    assert call(environ("GET", link.url)).status_code == 200


@pytest.mark.parametrize(("content_type", "lean"), [
    ("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
    ("text/plain", False), ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False),
    ("application/jsonx", False)])
def test_only_a_json_body_takes_the_respondent_stack(content_type, lean):
    assert is_respondent_submit({"REQUEST_METHOD": "POST", "PATH_INFO": "/r/abc", "CONTENT_TYPE": content_type}) is lean


def test_a_token_of_one_account_cannot_touch_another(link, globex_link, questions):
    body = {"score": 10, "answers": {str(q.pk): "Speed" for q in questions.values()}}
    response = call(submit(globex_link, body))
    assert served_by_lean(response) and response.status_code == 400
    assert set(json.loads(response.content)["errors"]) == {f"q{q.pk}" for q in questions.values()}
    assert call(submit(globex_link, {"score": 4})).status_code == 200
    with account_scope(link.invitation.account):
        assert not Response.objects.exists()  # acme sees none of globex's rows
    with account_scope(globex_link.invitation.account):
        saved = Response.objects.get()
        assert (saved.invitation_id, saved.account_id) == (globex_link.invitation.pk,
                                                          globex_link.invitation.account_id)
    with cross_account():
        assert not Answer.objects.exists()


def test_the_production_client_dispatches_as_production_does(survey):
    link, other = mint_link(survey), mint_link(survey)
    client = production_client(enforce_csrf_checks=True)
    assert client.post(link.url, json.dumps({"score": 9}), content_type="application/json").status_code == 403
    assert client.get(link.url).status_code == 200  # sets the CSRF cookie
    assert client.handler.lean_answers == 1
    response = client.post(other.url, json.dumps({"score": 9}), content_type="application/json",
                           HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 200 and client.handler.lean_answers == 2



def test_a_burst_gets_the_same_429_as_on_the_full_stack(survey, redis_cache, monkeypatch):  # noqa: F811
    monkeypatch.setattr(ratelimit, "TOKEN_WRITES_PER_MINUTE", 2)
    answers = {}
    for name, app in (("lean", application), ("full", application.full)):
        link = mint_link(survey)
        statuses = [call(submit(link, {"score": 9}), app).status_code for _ in range(4)]
        answers[name] = call(submit(link, {"score": 9}), app)
        assert statuses[0] == 200 and 429 in statuses and answers[name].status_code == 429, (name, statuses)
    lean, full = answers["lean"], answers["full"]
    assert served_by_lean(lean)
    assert NONCE.sub("", lean.content.decode()) == NONCE.sub("", full.content.decode())
    assert sorted(lean.headers) == sorted(full.headers) and int(lean["Retry-After"]) >= 1
