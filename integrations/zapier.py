"""Zapier REST hooks: subscribe, unsubscribe, sample (performList), me, and the survey-person action.

Authenticated by API key (``Authorization: Bearer <key>`` or Basic with the key as user name);
the key's account is the only account these endpoints see.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.api_auth import authenticate_request
from accounts.models import ApiKeyScope
from integrations import payloads, services
from integrations.models import EVENT_KINDS
from surveys import services as survey_services

SAMPLE_SIZE = 3


def _errors(error: ValidationError, status: int = 400) -> JsonResponse:
    detail = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    return JsonResponse(detail, status=status)


def api_key_required(write: bool = False) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            api_key = authenticate_request(request)
            if api_key is None:
                response = JsonResponse({"detail": "Invalid or missing API key."}, status=401)
                response["WWW-Authenticate"] = 'Basic realm="api"'
                return response
            if write and api_key.scope != ApiKeyScope.WRITE:
                return JsonResponse({"detail": "This API key is read-only."}, status=403)
            request.api_key = api_key
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorator


def _json(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise ValidationError({"detail": "The body must be JSON."}) from None
    if not isinstance(data, dict):
        raise ValidationError({"detail": "The body must be a JSON object."})
    return data


@require_http_methods(["GET"])
@api_key_required()
def me(request: HttpRequest) -> JsonResponse:
    """Zapier's auth test: who this key belongs to."""
    account = request.account
    return JsonResponse({"account": {"slug": account.slug, "name": account.name},
                         "key": {"prefix": request.api_key.prefix, "scope": request.api_key.scope}})


@require_http_methods(["POST"])
@api_key_required(write=True)
def subscribe(request: HttpRequest) -> JsonResponse:
    """performSubscribe: ``{"target_url" | "hookUrl", "event", "filters"}`` -> 201 ``{"id"}``."""
    try:
        data = _json(request)
        sub = services.subscribe_zapier(
            account=request.account, target_url=data.get("target_url") or data.get("hookUrl") or "",
            event=data.get("event") or "", filters=data.get("filters") or {
                k: data[k] for k in ("score_groups", "has_comment", "survey_ids", "property_key", "property_value")
                if k in data}, api_key=request.api_key)
    except ValidationError as error:
        return _errors(error)
    return JsonResponse({"id": sub.pk, "event": sub.event, "target_url": sub.target_url, "filters": sub.filters},
                        status=201)


@require_http_methods(["DELETE"])
@api_key_required(write=True)
def unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    """performUnsubscribe: 204; 404 when this account has no such subscription (any more)."""
    if not services.unsubscribe_zapier(account=request.account, subscription_id=pk):
        return JsonResponse({"detail": "Not found."}, status=404)
    return HttpResponse(status=204)


@require_http_methods(["GET"])
@api_key_required()
def sample(request: HttpRequest) -> JsonResponse:
    """performList: the most recent items of an event, newest first, in the hook payload's shape."""
    event = request.GET.get("event", "response.created")
    if event not in EVENT_KINDS:
        return JsonResponse({"event": ["Unknown event."]}, status=400)
    account = request.account
    if event == "response.created":
        rows = account.responses.select_related("survey", "person", "account").order_by("-created_at", "-pk")
        items = [payloads.response_object(r) for r in rows[:SAMPLE_SIZE]]
    elif event == "response.updated":
        rows = account.responses.select_related("survey", "person", "account").order_by("-updated_at", "-pk")
        items = [payloads.response_object(r) for r in rows[:SAMPLE_SIZE]]
    else:
        events = account.events.filter(kind=event).order_by("-created_at", "-pk")[:SAMPLE_SIZE]
        responses = {r.pk: r for r in account.responses.select_related("survey", "person", "account").filter(
            pk__in=[e.payload.get("response_id") for e in events if e.payload.get("response_id")])}
        people = {p.pk: p for p in account.people.filter(
            pk__in=[e.payload.get("person_id") for e in events if e.payload.get("person_id")])}
        items = []
        for e in events:
            response = responses.get(e.payload.get("response_id"))
            person = response.person if response else people.get(e.payload.get("person_id"))
            items.append(payloads.event_object(e, response, person))
    return JsonResponse(items, safe=False)


@require_http_methods(["POST"])
@api_key_required(write=True)
def survey_person(request: HttpRequest) -> JsonResponse:
    """Action: create or update a person and schedule a survey (``delay`` seconds from now)."""
    account = request.account
    try:
        data = _json(request)
        survey_id = data.get("survey_id")
        survey = (account.surveys.filter(pk=survey_id).first() if str(survey_id or "").isdecimal()
                  else account.surveys.filter(is_default=True).first() or account.surveys.order_by("pk").first())
        if survey is None:
            raise ValidationError({"survey_id": "Unknown survey."})
        try:
            delay = max(int(data.get("delay") or 0), 0)
        except (TypeError, ValueError):
            raise ValidationError({"delay": "Enter a number of seconds."}) from None
        with transaction.atomic():
            person, _created = survey_services.upsert_person(
                account=account, email=data.get("email"), phone_number=data.get("phone_number"),
                name=data.get("name"), properties=data.get("properties") or {})
            invitation = survey_services.schedule_invitation(
                survey=survey, person=person, scheduled_at=timezone.now() + timedelta(seconds=delay),
                properties=data.get("properties") or {})
    except ValidationError as error:
        return _errors(error)
    return JsonResponse({"person": payloads.person_object(person),
                         "invitation": {"id": invitation.pk, "survey_id": survey.pk,
                                        "scheduled_at": invitation.scheduled_at.isoformat()}}, status=201)
