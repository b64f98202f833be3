"""The respondent's JSON submit on a middleware stack of its own (docs/architecture.md, "The respondent's hot path").

``POST /r/<token>`` with a JSON body is the request every respondent makes. It needs none of what
the pages behind a login do (session, user, messages, axes, the account from the URL, CORS, static
files), so ``config/wsgi.py`` hands it to a ``RespondentHandler``: a WSGI handler like Django's, whose
middleware is ``settings.RESPONDENT_MIDDLEWARE`` instead of ``settings.MIDDLEWARE``. Every other
request (a form post, a GET, any other path) goes through the full stack.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

# The JSON submit of responses.public_urls's "respond:token" (<str:token> matches no slash).
RESPONDENT_SUBMIT_PATH = re.compile(r"/r/[^/]+\Z")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_respondent_submit(environ: dict[str, Any]) -> bool:
    """A POST of a JSON body to ``/r/<token>``: the request the lean stack serves."""
    if environ.get("REQUEST_METHOD") != "POST":
        return False
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    return content_type == "application/json" and RESPONDENT_SUBMIT_PATH.match(environ.get("PATH_INFO", "")) is not None


class RespondentHandler(WSGIHandler):
    """Django's WSGI handler with ``settings.RESPONDENT_MIDDLEWARE`` as its middleware (synchronous only)."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware for a synchronous stack, reading another setting.
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.RESPONDENT_MIDDLEWARE):
            try:
                middleware = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


def with_respondent_path(full: WSGIApp) -> WSGIApp:
    """The WSGI application: the respondent's JSON submit through a ``RespondentHandler``, the rest through ``full``."""
    lean = RespondentHandler()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_respondent_submit(environ):
            return lean(environ, start_response)
        return full(environ, start_response)

    application.lean = lean  # type: ignore[attr-defined]
    application.full = full  # type: ignore[attr-defined]
    return application


class ContentLengthMiddleware:
    """The ``Content-Length`` header ``CommonMiddleware`` adds on the full stack (the rest of it, URL
    slash and www redirects and user-agent bans, does not apply to a JSON post to a resolved URL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response
