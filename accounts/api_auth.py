"""API-key authentication: the API door into the tenant scope.

Accepted forms: ``Authorization: Bearer <key>``, and HTTP Basic with the key as user name and an
empty password, with or without the colon (the Delighted clients send both; contract rule W4).
"""
from __future__ import annotations

import base64
import binascii
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import Account, ApiKey, hash_secret
from accounts.scoping import activate_account_scope


class ApiKeyUser:
    """The principal of an API request: acts for one account, never as a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.account: Account = api_key.account

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def key_from_header(header: str) -> str | None:
    """The raw key in an Authorization header value, or None."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        key = decoded.split(":", 1)[0]
        return key or None
    return None


def authenticate_key(raw_key: str) -> ApiKey | None:
    """The active ApiKey for a raw key, or None. Marks it used at most once a minute."""
    api_key = (
        ApiKey.objects.select_related("account")
        .filter(key_hash=hash_secret(raw_key), revoked_at__isnull=True)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


def authenticate_request(request: HttpRequest) -> ApiKey | None:
    """Authenticate a plain Django request by its API key and enter the account's scope."""
    raw = key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
    api_key = authenticate_key(raw) if raw else None
    if api_key is not None:
        request.account = api_key.account
        activate_account_scope(api_key.account)
    return api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication by API key; sets ``request.account`` and enters its scope."""

    def authenticate(self, request: HttpRequest) -> tuple[ApiKeyUser, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = key_from_header(header)
        if raw is None:
            if header.lower().startswith(("bearer", "basic")):
                raise exceptions.AuthenticationFailed("Malformed Authorization header.")
            return None
        api_key = authenticate_request(request._request if hasattr(request, "_request") else request)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        request.account = api_key.account
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Basic realm="api"'
