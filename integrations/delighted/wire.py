"""Wire rules of the Delighted API (delighted-api.md §1): params, auth, errors, rate limit, 406.

Every /v1/ view is wrapped by ``endpoint()``: it answers JSON only (never 204, never HTML), merges
query, form (Rails brackets) and JSON body params the way Rails ``params`` does, authenticates the
key (Basic with or without the colon, or Bearer), enforces the per-key rate limit with an integer
``Retry-After``, and maps errors to ``{"status", "message", "errors"}``.
"""
from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from accounts.api_auth import authenticate_request
from accounts.models import ApiKey

logger = logging.getLogger("verbatim")

ARRAY_KEYS = {"expand", "groups"}  # plain repeated keys (Node: expand=a&expand=b) become lists (W9)
JSON_TYPES = ("application/json", "*/*", "application/*")
BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class ApiError(Exception):
    """An error answer: ``raise ApiError(422, {"email": ["is invalid"]})``."""

    def __init__(self, status: int, errors: dict[str, list[str]] | None = None, message: str | None = None) -> None:
        super().__init__(message or HTTPStatus(status).phrase)
        self.status, self.errors, self.message = status, errors, message or HTTPStatus(status).phrase


def error_response(status: int, errors: dict[str, Any] | None = None, message: str | None = None) -> JsonResponse:
    """The error body of every /v1/ failure (W16)."""
    body: dict[str, Any] = {"status": status, "message": message or HTTPStatus(status).phrase}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, headers=headers)


# -- params ---------------------------------------------------------------------------------------

def rails_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``a[b]=c``, ``a[]=x`` and ``a[b][]=y`` like Rails; ``expand``/``groups`` repeated become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        match = BRACKETS.match(key)
        if not match:
            result[key] = value
            continue
        name, rest = match.groups()
        path = [name, *re.findall(r"\[([^\[\]]*)\]", rest)]
        if len(path) == 1:
            if name in ARRAY_KEYS and name in result:
                previous = result[name]
                result[name] = [*(previous if isinstance(previous, list) else [previous]), value]
            else:
                result[name] = value
            continue
        node: dict[str, Any] = result
        for index, part in enumerate(path[:-1]):
            if path[index + 1] == "":
                items = node.get(part)
                if not isinstance(items, list):
                    items = node[part] = [] if items is None else [items]
                items.append(value)
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        else:
            node[path[-1]] = value
    return result


def parse_params(request: HttpRequest) -> dict[str, Any]:
    """Query + body params merged (body wins); bodies of GET are ignored (W7, W8)."""
    params = rails_params(request.GET.items() if not hasattr(request.GET, "lists")
                          else ((k, v) for k, values in request.GET.lists() for v in values))
    if request.method == "GET":
        return params
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded" or content_type.startswith("multipart/"):
        try:
            form = request.POST
        except MultiPartParserError:  # e.g. multipart/form-data without a boundary
            raise ApiError(400, {"body": ["is not a valid multipart form"]}) from None
        body = rails_params((k, v) for k, values in form.lists() for v in values)
    elif request.body:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, {"body": ["is not valid JSON"]}) from None
        if not isinstance(body, dict):
            raise ApiError(422, {"body": ["must be a JSON object"]})
    else:
        body = {}
    return {**params, **body}


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def as_bool(value: Any, field: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ApiError(422, {field: ["must be true or false"]})


def as_int(value: Any, field: str, default: int | None = None, minimum: int | None = None,
           maximum: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ApiError(422, {field: ["must be an integer"]})
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
        if number is None:
            raise ValueError
    except (TypeError, ValueError):
        raise ApiError(422, {field: ["must be an integer"]}) from None
    if minimum is not None and number < minimum:
        raise ApiError(422, {field: [f"must be at least {minimum}"]})
    if maximum is not None and number > maximum:
        raise ApiError(422, {field: [f"must be at most {maximum}"]})
    return number


def as_time(value: Any, field: str) -> datetime | None:
    """A Unix-seconds parameter as an aware datetime (W11)."""
    seconds = as_int(value, field, minimum=0, maximum=253402300799)
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def as_str(value: Any, field: str, max_length: int = 1000) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ApiError(422, {field: ["must be a string"]})
    text = str(value)
    if len(text) > max_length:
        raise ApiError(422, {field: [f"must be less than {max_length} characters"]})
    return text


def as_map(value: Any, field: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ApiError(422, {field: ["must be an object (use properties[key]=value)"]})
    return value


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


# -- rate limit -----------------------------------------------------------------------------------

def rate_limit() -> tuple[int, int]:
    """(requests, seconds) allowed per key, from settings.API_RATE_LIMIT like "600/60"."""
    count, _, period = str(getattr(settings, "API_RATE_LIMIT", "600/60")).partition("/")
    return int(count), int(period or 60)


def rate_limit_wait(api_key: ApiKey) -> int:
    """0 when the request may go on, else the whole seconds to wait (W15). Fixed window in the cache.

    Shared by every process through Redis; when the cache is down the limiter fails open (AP-4).
    """
    limit, period = rate_limit()
    if limit <= 0:
        return 0
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:api:{api_key.pk}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        used = cache.incr(key)
    except Exception:  # noqa: BLE001 - a cache outage must not take the API down
        logger.warning("api rate limiter unavailable; failing open", exc_info=True)
        return 0
    if used <= limit:
        return 0
    return max(1, math.ceil((window + 1) * period - now))


def too_many_requests(wait: int) -> JsonResponse:
    response = error_response(429)
    response["Retry-After"] = str(int(wait))
    return response


# -- the endpoint wrapper -------------------------------------------------------------------------

def accepts_json(request: HttpRequest, suffix: str | None) -> bool:
    """The 406 rule (W6): only a path without .json whose Accept excludes JSON is refused."""
    if suffix:
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return not accept.strip() or any(kind in accept for kind in JSON_TYPES)


Handler = Callable[..., HttpResponse]


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A /v1/ view answering the given methods: ``endpoint(GET=list_people, POST=create_person)``."""

    @csrf_exempt
    def view(request: HttpRequest, fmt: str | None = None, **kwargs: Any) -> HttpResponse:
        handler = handlers.get(request.method or "")
        if not accepts_json(request, fmt):
            return error_response(406)
        api_key = authenticate_request(request)
        if api_key is None:
            return error_response(401)
        if handler is None:
            response = error_response(405)
            response["Allow"] = ", ".join(sorted(handlers))
            return response
        wait = rate_limit_wait(api_key)
        if wait:
            return too_many_requests(wait)
        try:
            request.params = parse_params(request)
            return handler(request, api_key, **kwargs)
        except ApiError as exc:
            return error_response(exc.status, exc.errors, exc.message if exc.status != 422 else None)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"base": exc.messages}
            return error_response(422, {k: [str(m) for m in v] for k, v in errors.items()})
        except (Http404, ObjectDoesNotExist):
            return error_response(404)
        except RequestDataTooBig:
            return error_response(413)
        except Exception:  # noqa: BLE001 - clients parse JSON errors; never a stack trace (AP-7)
            logger.exception("delighted api error on %s %s", request.method, request.path)
            return error_response(500)

    view.delighted_methods = sorted(handlers)  # type: ignore[attr-defined]
    return view


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other /v1/ path, including a trailing slash (W3): JSON 404, never a redirect."""
    return error_response(404)
