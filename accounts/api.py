"""The base of Verbatim's REST API (/api/v1/): account resolution, scopes, rate limits, idempotency, errors.

Every viewset derives from ``AccountViewSet``: the account comes from the API key (``Authorization``)
or, for a logged-in browser session, from the membership named by the ``X-Account`` header (a slug;
optional when the user has one account). Reads need the ``read`` scope (every key) or any role;
writes need a ``write`` key or a member+ role. Errors have one shape:
``{"status": 400, "message": "Bad Request", "errors": {"field": ["message"]}}``.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, throttling, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView, exception_handler

from accounts.models import Account, ApiKey, ApiKeyScope, IdempotencyRecord, Membership
from accounts.scoping import activate_account_scope

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents API keys in the schema: ``Authorization: Bearer <key>`` (Basic with the key as user also works)."""

    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key of the account (vb_...)."}

ERROR_SCHEMA = inline_serializer("Error", fields={
    "status": serializers.IntegerField(), "message": serializers.CharField(),
    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
})
ERROR_RESPONSES = {400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 429: ERROR_SCHEMA}
ACCOUNT_HEADER = OpenApiParameter(
    "X-Account", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Browser sessions only: the slug of the account to act in (API keys imply their account).")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="A unique string per intended POST: a retry with the same key returns the first result.")


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> ApiResponse | None:
    """DRF errors and Django ``ValidationError`` in one JSON shape; no stack traces."""
    if isinstance(exc, RequestDataTooBig):
        return ApiResponse({"status": 413, "message": HTTPStatus(413).phrase}, status=413)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    response = exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any] = {"status": response.status_code, "message": HTTPStatus(response.status_code).phrase}
    if isinstance(exc, exceptions.ValidationError):
        body["errors"] = _flatten(exc.detail)
    elif isinstance(exc, exceptions.APIException) and not isinstance(exc, exceptions.NotFound | Http404):
        body["detail"] = str(exc.detail)
        if isinstance(exc, exceptions.PermissionDenied) and getattr(exc, "required_scope", None):
            body["required_scope"] = exc.required_scope
    response.data = body
    return response


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField, StrictCharField):
    pass


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses strings, floats and booleans in JSON bodies."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScopeDenied(exceptions.PermissionDenied):
    def __init__(self, required_scope: str) -> None:
        super().__init__(f"This API key lacks the {required_scope!r} scope.")
        self.required_scope = required_scope


class AccountPermission(permissions.BasePermission):
    """Reads: any key or member. Writes: ``write`` keys, or members and above (viewers only read)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if api_key is not None:
            if api_key.scope != ApiKeyScope.WRITE:
                raise ScopeDenied("write")
            return True
        membership = getattr(request, "membership", None)
        return bool(membership and membership.can_edit)


class ApiKeyThrottle(throttling.BaseThrottle):
    """The per-key (or per-user) limit of settings.API_RATE_LIMIT, shared through Redis; 429 + Retry-After."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        from integrations.delighted.wire import rate_limit_wait

        subject = request.auth if isinstance(request.auth, ApiKey) else None
        if subject is None:
            if not getattr(request.user, "is_authenticated", False):
                return True
            subject = _UserSubject(request.user.pk)
        self._wait = rate_limit_wait(subject)
        return self._wait == 0

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class _UserSubject:
    def __init__(self, user_id: int) -> None:
        self.pk = f"user-{user_id}"


def resolve_account(request: Request) -> Account:
    """The account of this API request; enters its scope. 404 when the session names no membership."""
    if isinstance(request.auth, ApiKey):
        account = request.auth.account
    else:
        memberships = Membership.objects.select_related("account").filter(user=request.user)
        named = request.headers.get("X-Account")
        if named:  # an account the user is not a member of looks like no account at all
            membership = memberships.filter(account__slug=named).first()
            if membership is None:
                raise exceptions.NotFound()
        else:
            last = request.session.get("last_account")
            membership = memberships.filter(account__slug=last).first() if last else None
        if membership is None:
            only = list(memberships[:2])
            membership = only[0] if len(only) == 1 else None
        if membership is None:
            raise exceptions.NotFound("Name the account in the X-Account header.")
        request.membership = membership
        account = membership.account
    request.account = account
    request._request.account = account
    activate_account_scope(account)
    return account


class ApiCursorPagination(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "per_page"
    ordering = ("-created_at", "-id")


class AccountApiMixin:
    """Account, permissions, throttle and the error shape for every /api/v1/ view."""

    permission_classes = [permissions.IsAuthenticated, AccountPermission]
    throttle_classes = [ApiKeyThrottle]
    parser_classes = [JSONParser]  # one body format; form bodies are the Delighted API's (/v1/) business

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:  # DRF's JSON parser does not apply Django's limit
            raise RequestDataTooBig("Request body too large.")
        self.format_kwarg = self.get_format_suffix(**kwargs)
        self.perform_authentication(request)
        if request.user is not None and getattr(request.user, "is_authenticated", False):
            resolve_account(request)
        self.check_permissions(request)
        self.check_throttles(request)
        for name, values in request.query_params.lists():  # PostgreSQL text cannot hold NUL: a 400, not a 500
            if "\x00" in name or any("\x00" in value for value in values):
                raise exceptions.ValidationError({name.replace("\x00", ""): ["Contains a NUL character."]})
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme

    def get_exception_handler(self) -> Any:
        return api_exception_handler


class AccountViewSet(AccountApiMixin, viewsets.GenericViewSet):
    """Base of tenant viewsets: implement ``scoped_queryset()`` starting from ``self.request.account``."""

    pagination_class = ApiCursorPagination
    integer_params = ("per_page", "survey", "person")  # query parameters that must be one whole number

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(self, (request.method or "").lower(), None) is None:
            return  # an undeclared method: DRF answers 405 next
        for name in self.integer_params:
            values = request.query_params.getlist(name)
            if values and (len(values) > 1 or not values[0].isdecimal() or len(values[0]) > 18):
                raise exceptions.ValidationError({name: ["Give one whole number."]})
        per_page = request.query_params.get("per_page")
        if per_page and not 1 <= int(per_page) <= ApiCursorPagination.max_page_size:
            raise exceptions.ValidationError({"per_page": ["Between 1 and 100."]})

    def scoped_queryset(self) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no account
            return self.queryset.none() if self.queryset is not None else None
        return self.scoped_queryset()


def request_fingerprint(request: Request) -> str:
    return hashlib.sha256(json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()


def redacted(body: Any, fields: tuple[str, ...]) -> Any:
    """``body`` with the given top-level fields set to null: what a replay may show again."""
    if not fields or not isinstance(body, dict):
        return body
    return {k: (None if k in fields else v) for k, v in body.items()}


def idempotent(request: Request, produce: Callable[[], ApiResponse],
               redact: tuple[str, ...] = ()) -> ApiResponse:
    """Run a POST once per ``Idempotency-Key``: the first answer is stored; a retry gets it, never a 2nd object.

    ``redact`` names fields shown once (a signing secret): they are stored, and so replayed, as null.
    """
    key = request.headers.get("Idempotency-Key")
    if not key:
        return produce()
    if len(key) > 255:
        raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
    fingerprint, path = request_fingerprint(request), request.path[:255]
    previous = IdempotencyRecord.objects.filter(account=request.account, key=key).first()
    if previous is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(account=request.account, key=key, method="POST",
                                                          path=path, request_hash=fingerprint)
                answer = produce()
                record.status_code, record.body = answer.status_code, redacted(answer.data, redact)
                record.save(update_fields=["status_code", "body"])
                return answer
        except IntegrityError:  # a concurrent retry stored it first
            previous = IdempotencyRecord.objects.filter(account=request.account, key=key).first()
            if previous is None:
                raise
    if previous.request_hash != fingerprint or previous.path != path:
        raise exceptions.ValidationError({"Idempotency-Key": ["Already used for a different request."]})
    return ApiResponse(previous.body, status=previous.status_code or 409, headers={"Idempotent-Replayed": "true"})


class IdempotentCreateMixin(mixins.CreateModelMixin):
    """POST with ``Idempotency-Key``: the first result is stored; a retry returns it, never a 2nd object.

    ``idempotency_redacted_fields``: fields of the answer shown once only; a replay has them as null.
    """

    idempotency_redacted_fields: tuple[str, ...] = ()

    def reject_unknown_fields(self, request: Request) -> None:
        """A field the endpoint does not take (misspelt, read-only, another object's) is a 400, never ignored."""
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        writable = {name for name, field in self.get_serializer().fields.items() if not field.read_only}
        unknown = sorted(set(request.data) - writable)
        if unknown:
            raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})

    def create(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        self.reject_unknown_fields(request)
        return idempotent(request, lambda: super(IdempotentCreateMixin, self).create(request, *args, **kwargs),
                          redact=self.idempotency_redacted_fields)


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "slug", "time_zone", "default_locale", "throttle_days", "sending_paused",
                  "created_at"]
        read_only_fields = fields


class CurrentAccountView(AccountApiMixin, APIView):
    """The account this key or session acts for."""

    @extend_schema(parameters=[ACCOUNT_HEADER], responses={200: AccountSerializer, **ERROR_RESPONSES},
                   examples=[OpenApiExample("Acme", value={"id": 1, "name": "Acme", "slug": "acme",
                                                           "time_zone": "UTC", "default_locale": "en",
                                                           "throttle_days": 30, "sending_paused": False,
                                                           "created_at": "2026-01-01T00:00:00Z"},
                                            response_only=True)])
    def get(self, request: Request) -> ApiResponse:
        return ApiResponse(AccountSerializer(request.account).data)
