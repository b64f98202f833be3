"""The Delighted-compatible endpoints (delighted-api.md §2). Each handler parses, calls a service, answers.

Handlers get ``(request, api_key, **path_kwargs)``; ``request.params`` holds the merged params and
``request.account`` the key's account (its scope is active). See ``wire.endpoint`` for the rules
shared by every route.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import ApiKey
from integrations.delighted import services
from integrations.delighted.models import AutopilotMembership, Trend
from integrations.delighted.payloads import (
    person_payload,
    response_payload,
    response_payloads,
    responses_for_payload,
    with_next_scheduled,
)
from integrations.delighted.wire import (
    ApiError,
    as_bool,
    as_int,
    as_list,
    as_map,
    as_str,
    as_time,
    endpoint,
    json_response,
    unix,
)
from responses.models import Response
from surveys.models import Invitation, Person, Suppression
from surveys.services.people import normalize_email

CURSOR_SALT = "verbatim.delighted.cursor"
CURSOR_FILTERS = ("per_page", "since", "until", "email", "phone_number", "person_id", "person_email",
                  "person_phone_number", "updated_since")


# -- helpers --------------------------------------------------------------------------------------

def per_page(params: dict[str, Any]) -> int:
    return as_int(params.get("per_page"), "per_page", default=20, minimum=1, maximum=100)


def page_number(params: dict[str, Any]) -> int:
    return as_int(params.get("page"), "page", default=1, minimum=1, maximum=1_000_000)


def expand_of(params: dict[str, Any]) -> set[str]:
    values = {str(v) for v in as_list(params.get("expand"))}
    unknown = values - {"person", "notes"}
    if unknown:
        raise ApiError(422, {"expand": [f"{sorted(unknown)[0]} is not expandable"]})
    return values


def cursor_state(request: HttpRequest) -> dict[str, Any]:
    """Filters and position of a cursor list: from ``page_info`` (a Link URL) or the query."""
    params = request.params
    token = params.get("page_info")
    if token:
        try:
            return signing.loads(str(token), salt=CURSOR_SALT)
        except signing.BadSignature:
            raise ApiError(422, {"page_info": ["is invalid"]}) from None
    return {"f": {k: params[k] for k in CURSOR_FILTERS if k in params and not isinstance(params[k], dict | list)},
            "after": None}


def keyset_page(rows: QuerySet, state: dict[str, Any], size: int) -> tuple[list[Any], str | None]:
    """One page of ``rows`` ordered by (created_at, id) after the cursor, and the next cursor or None."""
    after = state.get("after")
    if after:
        rows = rows.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
    items = list(rows.order_by("created_at", "id")[: size + 1])
    if len(items) <= size:
        return items, None
    items = items[:size]
    last = items[-1]
    return items, signing.dumps({"f": state["f"], "after": [last.created_at.isoformat(), last.pk]}, salt=CURSOR_SALT)


def link_header(request: HttpRequest, url_name: str, token: str | None, **kwargs: Any) -> dict[str, str]:
    """``Link: <absolute URL>; rel="next"`` (W17) or nothing on the last page."""
    if token is None:
        return {}
    url = request.build_absolute_uri(reverse(url_name, kwargs={"fmt": ".json", **kwargs}))
    return {"Link": f'<{url}?{urlencode({"page_info": token})}>; rel="next"'}


def find_person(account: Any, identifier: str) -> Person:
    """A person by ``<id>``, ``email:<address>`` or ``phone_number:<E.164>`` (§2.3); 404 otherwise."""
    if identifier.startswith("email:"):
        return get_object_or_404(account.people, email=normalize_email(identifier.removeprefix("email:")))
    if identifier.startswith("phone_number:"):
        return get_object_or_404(account.people, phone_number=identifier.removeprefix("phone_number:"))
    if not identifier.isdecimal() or len(identifier) > 18:
        raise ApiError(404)
    return get_object_or_404(account.people, pk=int(identifier))


def person_by_id(account: Any, value: Any, field: str) -> Person:
    if isinstance(value, dict):  # the Python client PUTs back an expanded person object
        value = value.get("id")
    text = "" if value is None else str(value)
    if not text.isdecimal() or len(text) > 18:
        raise ApiError(422, {field: ["is invalid"]}) if not text else ApiError(404)
    return get_object_or_404(account.people, pk=int(text))


def trend_of(account: Any, value: Any) -> Trend | None:
    """The saved trend a ``trend`` parameter names; an id that is not one of the account's trends is a 422."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    trend = (account.trends.filter(pk=int(text)).first()
             if text.isdecimal() and len(text) < 19 and not isinstance(value, dict | list) else None)
    if trend is None:
        raise ApiError(422, {"trend": ["is unknown"]})
    return trend


def platform_of(platform: str) -> str:
    if platform not in AutopilotMembership.Platform.values:
        raise ApiError(404)
    return platform


# -- people ---------------------------------------------------------------------------------------

def create_person(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """POST /v1/people: upsert and schedule a survey (§2.1)."""
    p = request.params
    survey = services.survey_for_key(api_key)
    email, phone = as_str(p.get("email"), "email", 254), as_str(p.get("phone_number"), "phone_number", 16)
    person, created, invitation = services.upsert_and_schedule(
        account=request.account, survey=survey, email=email, phone_number=phone,
        name=as_str(p.get("name"), "name", 255), properties=as_map(p.get("properties"), "properties"),
        channel=as_str(p.get("channel"), "channel", 10) or "email",
        send=as_bool(p.get("send"), "send", True) if request.method == "POST" else False,
        delay=as_int(p.get("delay"), "delay", default=0, minimum=0, maximum=10 * 365 * 86400),
        last_sent_at=as_time(p.get("last_sent_at"), "last_sent_at"),
        email_update=as_str(p.get("email_update"), "email_update", 254),
        phone_number_update=as_str(p.get("phone_number_update"), "phone_number_update", 16))
    body = {**person_payload(person, full=False),
            "survey_scheduled_at": unix(invitation.scheduled_at) if invitation else None,
            "properties": person.properties}
    return json_response(body, status=201 if created else 200)


def list_people(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """GET /v1/people: creation order, cursor pagination through ``Link`` (§2.2)."""
    state = cursor_state(request)
    f = state["f"]
    rows = with_next_scheduled(request.account.people.all())
    if f.get("email"):
        rows = rows.filter(email=normalize_email(str(f["email"])))
    if f.get("phone_number"):
        rows = rows.filter(phone_number=str(f["phone_number"]))
    if f.get("since") not in (None, ""):
        rows = rows.filter(created_at__gte=as_time(f["since"], "since"))
    if f.get("until") not in (None, ""):
        rows = rows.filter(created_at__lte=as_time(f["until"], "until"))
    items, token = keyset_page(rows, state, per_page(f))
    return json_response([person_payload(p) for p in items], headers=link_header(request, "delighted:people", token))


def get_person(request: HttpRequest, api_key: ApiKey, identifier: str) -> HttpResponse:
    """GET /v1/people/<identifier> (undocumented by Delighted, exposed by the Node client)."""
    person = find_person(request.account, identifier)
    return json_response(person_payload(with_next_scheduled(request.account.people.filter(pk=person.pk)).get()))


def delete_person(request: HttpRequest, api_key: ApiKey, identifier: str) -> HttpResponse:
    """DELETE /v1/people/<identifier>: the person and all related data; 202 (§2.3)."""
    services.delete_person(person=find_person(request.account, identifier))
    return json_response({"ok": True}, status=202)


def delete_pending(request: HttpRequest, api_key: ApiKey, email: str) -> HttpResponse:
    """DELETE /v1/people/<email>/survey_requests/pending (§2.4)."""
    person = get_object_or_404(request.account.people, email=normalize_email(email))
    services.cancel_pending(person=person)
    return json_response({"ok": True})


# -- survey responses -----------------------------------------------------------------------------

def create_survey_response(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """POST /v1/survey_responses (§2.5)."""
    p = request.params
    errors = {k: ["can't be blank"] for k in ("person", "score") if p.get(k) in (None, "")}
    if errors:
        raise ApiError(422, errors)
    person = person_by_id(request.account, p["person"], "person")
    response = services.create_response(
        survey=services.survey_for_key(api_key), person=person, score=p["score"],
        comment=as_str(p.get("comment"), "comment", 10_000),
        properties=as_map(p.get("person_properties"), "person_properties"),
        created_at=as_time(p.get("created_at"), "created_at"))
    response = responses_for_payload(Response.objects.filter(pk=response.pk)).get()
    return json_response(response_payload(request, response, expand=expand_of(p)), status=201)


def project_responses(request: HttpRequest, api_key: ApiKey) -> QuerySet[Response]:
    return request.account.responses.filter(survey=services.survey_for_key(api_key))


def get_survey_response(request: HttpRequest, api_key: ApiKey, pk: str) -> HttpResponse:
    """GET /v1/survey_responses/<id> (§2.6)."""
    if not pk.isdecimal() or len(pk) > 18:
        raise ApiError(404)
    response = get_object_or_404(responses_for_payload(project_responses(request, api_key)), pk=int(pk))
    return json_response(response_payload(request, response, expand=expand_of(request.params)))


def update_survey_response(request: HttpRequest, api_key: ApiKey, pk: str) -> HttpResponse:
    """PUT /v1/survey_responses/<id>: the client sends the whole object; read-only keys are ignored (§2.7)."""
    if not pk.isdecimal() or len(pk) > 18:
        raise ApiError(404)
    p = request.params
    response = get_object_or_404(project_responses(request, api_key), pk=int(pk))
    person = person_by_id(request.account, p["person"], "person") if p.get("person") not in (None, "") else None
    comment = p.get("comment")
    services.update_response(
        response=response, score=p.get("score"), person=person,
        comment=as_str(comment, "comment", 10_000) if "comment" in p else None,
        properties=as_map(p.get("person_properties"), "person_properties"))
    if "comment" in p and comment is None:
        services.update_response(response=response, comment="")
    response = responses_for_payload(Response.objects.filter(pk=response.pk)).get()
    return json_response(response_payload(request, response, expand=expand_of(p)))


def list_survey_responses(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """GET /v1/survey_responses: page-number pagination, filters and order (§2.8)."""
    p = request.params
    rows = project_responses(request, api_key)
    for field, lookup in (("since", "created_at__gte"), ("until", "created_at__lte"),
                          ("updated_since", "updated_at__gte"), ("updated_until", "updated_at__lte")):
        moment = as_time(p.get(field), field)
        if moment is not None:
            rows = rows.filter(**{lookup: moment})
    if p.get("person_id") not in (None, ""):
        person_id = str(p["person_id"])
        rows = rows.filter(person_id=int(person_id)) if person_id.isdecimal() and len(person_id) < 19 else rows.none()
    if p.get("person_email") not in (None, ""):
        rows = rows.filter(person__email=normalize_email(as_str(p["person_email"], "person_email", 254)))
    trend = trend_of(request.account, p.get("trend"))
    if trend is not None:
        rows = services.responses_in_trend(rows, trend)
    order = as_str(p.get("order"), "order", 20) or "asc"
    orders = {"asc": ("created_at", "id"), "desc": ("-created_at", "-id"),
              "asc:updated_at": ("updated_at", "id"), "desc:updated_at": ("-updated_at", "-id")}
    if order not in orders:
        raise ApiError(422, {"order": ["must be asc, desc, asc:updated_at or desc:updated_at"]})
    size, page = per_page(p), page_number(p)
    expand = expand_of(p)
    items = responses_for_payload(rows.order_by(*orders[order]), expand)[(page - 1) * size: page * size]
    return json_response(response_payloads(request, items, expand=expand))


# -- metrics, unsubscribes, bounces ---------------------------------------------------------------

def get_metrics(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """GET /v1/metrics (§2.9); ``groups[]`` other than core answer the core keys only."""
    p = request.params
    trend = trend_of(request.account, p.get("trend"))
    groups = {str(g) for g in as_list(p.get("groups"))} or {"core"}
    unknown = groups - {"core", "email", "kiosk", "link", "sms", "web"}
    if unknown:
        raise ApiError(422, {"groups": [f"{sorted(unknown)[0]} is not a metrics group"]})
    since, until = as_time(p.get("since"), "since"), as_time(p.get("until"), "until")
    if since and until and since > until:
        raise ApiError(422, {"since": ["must be before until"]})
    return json_response(services.metrics(survey=services.survey_for_key(api_key), since=since, until=until,
                                          trend=trend))


def create_unsubscribe(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """POST /v1/unsubscribes (§2.10)."""
    email = as_str(request.params.get("person_email"), "person_email", 254)
    if not email:
        raise ApiError(422, {"person_email": ["can't be blank"]})
    try:
        services.survey_services.people.clean_person_fields(email=email, phone_number=None, name=None,
                                                            properties=None)
    except Exception:  # noqa: BLE001 - any validation failure is the same answer
        raise ApiError(422, {"person_email": ["is invalid"]}) from None
    services.unsubscribe(account=request.account, email=email)
    return json_response({"ok": True})


def suppression_list(request: HttpRequest, reason: str, time_key: str) -> HttpResponse:
    p = request.params
    rows = request.account.suppressions.filter(reason=reason).exclude(email__startswith="sha256:")
    since, until = as_time(p.get("since"), "since"), as_time(p.get("until"), "until")
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lte=until)
    size, page = per_page(p), page_number(p)
    items = list(rows.order_by("created_at", "id")[(page - 1) * size: page * size])
    people = {person.email: person for person in request.account.people.filter(email__in=[s.email for s in items])}
    return json_response([
        {"person_id": str(people[s.email].pk) if s.email in people else None, "email": s.email,
         "name": (people[s.email].name or None) if s.email in people else None, time_key: unix(s.created_at)}
        for s in items])


def list_unsubscribes(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """GET /v1/unsubscribes (§2.11)."""
    return suppression_list(request, Suppression.Reason.UNSUBSCRIBED, "unsubscribed_at")


def list_bounces(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """GET /v1/bounces (§2.12)."""
    return suppression_list(request, Suppression.Reason.BOUNCED, "bounced_at")


# -- autopilot ------------------------------------------------------------------------------------

def get_autopilot(request: HttpRequest, api_key: ApiKey, platform: str) -> HttpResponse:
    """GET /v1/autopilot/<email|sms> (§2.13): the project survey's autopilot."""
    platform = platform_of(platform)
    autopilot = services.autopilot_of(survey=services.survey_for_key(api_key))
    if autopilot is None:
        raise ApiError(404, message="Autopilot is not configured")
    return json_response({"platform_id": platform, "active": autopilot.enabled,
                          "frequency": autopilot.every_days * 86400, "created_at": unix(autopilot.created_at),
                          "updated_at": unix(autopilot.updated_at)})


def member_person(request: HttpRequest, *, create: bool) -> Person | None:
    """The person a membership call names: ``person_id`` / ``person_email`` / ``person_phone_number``."""
    p = request.params
    given = {key: p.get(f"person_{key}", p.get(key)) for key in ("id", "email", "phone_number")}
    given = {k: v for k, v in given.items() if v not in (None, "")}
    if len(given) != 1 and not (create and given):
        raise ApiError(422, {"person": ["give exactly one of person_id, person_email or person_phone_number"]})
    if "id" in given:
        return person_by_id(request.account, given["id"], "person_id")
    email = as_str(given.get("email"), "person_email", 254)
    phone = as_str(given.get("phone_number"), "person_phone_number", 16)
    if not create:
        lookup = {"email": normalize_email(email)} if email else {"phone_number": phone}
        return get_object_or_404(request.account.people, **lookup)
    person, _created = services.survey_services.upsert_person(
        account=request.account, email=email, phone_number=phone,
        name=as_str(p.get("person_name"), "person_name", 255))
    return person


def list_memberships(request: HttpRequest, api_key: ApiKey, platform: str) -> HttpResponse:
    """GET /v1/autopilot/<platform>/memberships: cursor pagination like people (§2.14)."""
    platform = platform_of(platform)
    state = cursor_state(request)
    f = state["f"]
    rows = (AutopilotMembership.objects.filter(account=request.account, survey=services.survey_for_key(api_key),
                                               platform=platform).select_related("person"))
    if f.get("person_id") not in (None, ""):
        person_id = str(f["person_id"])
        rows = rows.filter(person_id=int(person_id)) if person_id.isdecimal() and len(person_id) < 19 else rows.none()
    if f.get("person_email") not in (None, ""):
        rows = rows.filter(person__email=normalize_email(str(f["person_email"])))
    if f.get("person_phone_number") not in (None, ""):
        rows = rows.filter(person__phone_number=str(f["person_phone_number"]))
    if f.get("updated_since") not in (None, ""):
        rows = rows.filter(updated_at__gte=as_time(f["updated_since"], "updated_since"))
    items, token = keyset_page(rows, state, per_page(f))
    pending = {}
    for invitation in (Invitation.objects.filter(account=request.account, survey=services.survey_for_key(api_key),
                                                 person__in=[m.person_id for m in items],
                                                 status=Invitation.Status.SCHEDULED).order_by("-scheduled_at")):
        pending[invitation.person_id] = invitation  # the earliest wins: ordered latest first
    body = []
    for m in items:
        nxt = pending.get(m.person_id)
        body.append({"created_at": unix(m.created_at), "updated_at": unix(m.updated_at),
                     "person": {**person_payload(m.person, full=False),
                                "last_sent_at": unix(m.person.last_surveyed_at)},
                     "next_survey_request": None if nxt is None else {
                         "id": str(nxt.pk), "created_at": unix(nxt.created_at),
                         "survey_scheduled_at": unix(nxt.scheduled_at), "properties": nxt.properties}})
    return json_response(body, headers=link_header(request, "delighted:autopilotmembership-list", token,
                                                   platform=platform))


def add_membership(request: HttpRequest, api_key: ApiKey, platform: str) -> HttpResponse:
    """POST /v1/autopilot/<platform>/memberships: add or update; properties replace (§2.14)."""
    platform = platform_of(platform)
    person = member_person(request, create=True)
    membership = services.add_autopilot_member(
        survey=services.survey_for_key(api_key), platform=platform, person=person,
        properties=as_map(request.params.get("properties"), "properties"))
    return json_response({"person": person_payload(person, full=False), "properties": membership.properties})


def remove_membership(request: HttpRequest, api_key: ApiKey, platform: str) -> HttpResponse:
    """DELETE /v1/autopilot/<platform>/memberships (params may come as a query string: Node)."""
    platform = platform_of(platform)
    person = member_person(request, create=False)
    membership = get_object_or_404(AutopilotMembership.objects.filter(account=request.account),
                                   survey=services.survey_for_key(api_key), platform=platform, person=person)
    services.remove_autopilot_member(membership=membership)
    return json_response({"person": person_payload(person, full=False)})


people = endpoint(GET=list_people, POST=create_person, PUT=create_person)
person_detail = endpoint(GET=get_person, DELETE=delete_person)
pending_requests = endpoint(DELETE=delete_pending)
survey_responses = endpoint(GET=list_survey_responses, POST=create_survey_response)
survey_response_detail = endpoint(GET=get_survey_response, PUT=update_survey_response)
metrics = endpoint(GET=get_metrics)
unsubscribes = endpoint(GET=list_unsubscribes, POST=create_unsubscribe)
bounces = endpoint(GET=list_bounces)
autopilot = endpoint(GET=get_autopilot)
autopilot_memberships = endpoint(GET=list_memberships, POST=add_membership, DELETE=remove_membership)
