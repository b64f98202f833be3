"""Public respondent pages (no login): token links, link surveys and the web widget's endpoints.

Every page goes through ``public_page``: a strict Content-Security-Policy (scripts and styles
from our origin only, the brand colour in one nonce'd style block), no referrer, no caching,
no indexing; unknown links answer a friendly 404, expired ones 410, bursts 429.
"""
from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.scoping import account_scope
from responses import actions, selectors, services, widget_identity
from responses.forms import HONEYPOT_FIELD, answers_from_post, link_properties
from responses.models import Response
from responses.ratelimit import RateLimited, flush, limit_address, limit_writes
from surveys.models import Channel, Invitation, Survey

logger = logging.getLogger("verbatim")

HONEYPOT_TTL = 7 * 24 * 3600
WIDGET_NONCE_MAX_AGE = 6 * 3600
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@contextmanager
def respondent(survey: Survey) -> Iterator[None]:
    """The tenant scope the token opened, in the survey's language (messages and errors alike)."""
    with account_scope(survey.account), translation.override(survey.locale or survey.account.default_locale):
        yield


def secure_headers(response: HttpResponse, nonce: str) -> HttpResponse:
    response["Content-Security-Policy"] = CSP.format(nonce=nonce)
    # Not "no-referrer": Chromium then sends "Origin: null" on form posts and CSRF refuses them.
    # "same-origin" still never tells a third party (a review site we link to) the token URL.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Security headers, friendly 404/410/429 pages and rate limits for a respondent page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(12)
        try:
            limit_address(request, defer=request.method == "POST")  # counted with the token's in limit_writes
            try:
                response = view(request, *args, **kwargs)
            finally:
                flush(request)
        except services.LinkUnknown:
            response = render(request, "responses/public/link_unknown.html", status=404)
        except services.LinkGone:
            response = render(request, "responses/public/link_gone.html", status=410)
        except RateLimited as exc:
            response = render(request, "responses/public/slow_down.html", status=429)
            response["Retry-After"] = str(exc.retry_after)
        return secure_headers(response, request.csp_nonce)

    return wrapper


def wants_json(request: HttpRequest) -> bool:
    return (request.content_type == "application/json"
            or "application/json" in request.headers.get("Accept", ""))


def json_errors(exc: ValidationError, status: int = 400) -> JsonResponse:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return JsonResponse({"errors": errors}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"body": _("The request body must be JSON.")}) from None
    if not isinstance(data, dict):
        raise ValidationError({"body": _("The request body must be a JSON object.")})
    return data


def page_context(request: HttpRequest, survey: Survey, **extra: Any) -> dict[str, Any]:
    account = survey.account
    return {"account": account, "survey": survey, "nonce": request.csp_nonce,
            "brand_color": account.brand_color, "logo_url": account.logo.url if account.logo else "", **extra}


def render_survey_page(request: HttpRequest, survey: Survey, template: str, status: int = 200,
                       **extra: Any) -> HttpResponse:
    with translation.override(survey.locale or survey.account.default_locale):
        response = render(request, template, page_context(request, survey, **extra), status=status)
    response["Content-Language"] = survey.locale
    return response


def form_page(request: HttpRequest, *, survey: Survey, score: int | None, invitation: Invitation | None = None,
              response: Response | None = None, properties: dict[str, Any] | None = None,
              errors: dict[str, list[str]] | None = None, posted: dict[int, Any] | None = None,
              comment: str | None = None, status: int = 200) -> HttpResponse:
    """The score, comment and extra questions form (token links and link surveys)."""
    group = survey.group_of(score) if score is not None else None
    return render_survey_page(
        request, survey, "responses/public/respond.html", status=status,
        question=selectors.fill_placeholders(survey.question, survey=survey, invitation=invitation,
                                             properties=properties),
        scores=list(survey.scores), selected=score, group=group,
        groups_json=json.dumps({str(k): v for k, v in selectors.score_groups(survey).items()}),
        questions=selectors.questions_for_page(survey, group=group, response=response, posted=posted),
        comment=comment if comment is not None else (response.comment if response else ""),
        errors=errors or {}, invitation=invitation, honeypot_field=HONEYPOT_FIELD,
        score_base=reverse("respond:token", kwargs={"token": request.resolver_match.kwargs["token"]})
        if invitation else "",
        headless_signals=survey.account.headless_signals,
    )


def parse_score(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- token links: /r/<token>/...


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def score_page(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """GET shows the score selected and records nothing (scanners open links); POST records it.

    The page posts the score itself once visible for ~1.5 s or at the first interaction
    (static/responses/respond.js); without script the form's submit button records it.
    """
    invitation = services.invitation_for_token(token, capture=request.method == "POST")
    with respondent(invitation.survey):
        survey = invitation.survey
        if request.method != "POST":
            response = Response.objects.filter(invitation=invitation).first()
            shown = score if survey.scale_min <= score <= survey.scale_max else None
            return form_page(request, survey=survey, score=shown, invitation=invitation, response=response)
        limit_writes(request, token_key=f"inv{invitation.pk}")
        automatic = request.POST.get("auto") == "1"
        suspected, reason = False, ""
        if automatic and cache_get(f"hp:{invitation.pk}"):
            suspected, reason = True, "honeypot link opened"
        elif automatic and invitation.account.headless_signals and (
                request.POST.get("webdriver") == "1" or "Headless" in request.headers.get("User-Agent", "")):
            suspected, reason = True, "headless browser"
        try:
            response = services.record_response(
                survey=survey, invitation=invitation, score=request.POST.get("score", score),
                suspected_bot=suspected, bot_reason=reason, automatic=automatic,
                locale=survey.locale)
        except ValidationError as exc:
            if wants_json(request):
                return json_errors(exc)
            return form_page(request, survey=survey, score=None, invitation=invitation,
                             errors=exc.message_dict, status=400)
        if wants_json(request):
            return JsonResponse({"id": response.pk, "score": response.score, "group": response.group})
        return redirect("respond:token", token=token)


_TOKEN_MARK = "0tokenmark0"


@functools.lru_cache(maxsize=16)
def _thanks_url_around(script_prefix: str, urlconf: str | None, language: str | None) -> tuple[str, str]:
    head, _mark, tail = reverse("respond:thanks", kwargs={"token": _TOKEN_MARK}).partition(_TOKEN_MARK)
    return head, tail


def thanks_url(token: str) -> str:
    """``reverse("respond:thanks", kwargs={"token": token})`` without the resolver on every JSON submit: the
    URL around the token is built once per script prefix, URLconf and language; the token quoted as
    ``reverse`` quotes it (it matched ``<str:token>``, so it has no slash)."""
    head, tail = _thanks_url_around(get_script_prefix(), get_urlconf(), translation.get_language())
    return f"{head}{quote(token, safe=RFC3986_SUBDELIMS + '/~:@')}{tail}"


def cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # Redis down: no honeypot memory, answers still accepted
        logger.warning("cache unavailable reading %s", key.split(":")[0])
        return None


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def token_page(request: HttpRequest, token: str) -> HttpResponse:
    """The answer page of an invitation: GET shows it (with any earlier answer), POST submits it.

    POST accepts the form (then redirects to the thank-you page) or JSON
    ``{"score": 9, "comment": "...", "answers": {"<question id>": value}}`` (400 names the field).
    """
    invitation = services.invitation_for_token(token, capture=request.method == "POST")
    with respondent(invitation.survey):
        survey = invitation.survey
        if request.method != "POST":
            response = Response.objects.filter(invitation=invitation).first()
            return form_page(request, survey=survey, score=response.score if response else None,
                             invitation=invitation, response=response)
        limit_writes(request, token_key=f"inv{invitation.pk}")
        if request.content_type == "application/json":
            try:
                data = json_body(request)
                response = services.submit_response(
                    survey=survey, invitation=invitation, score=data.get("score"), comment=data.get("comment"),
                    answers=data.get("answers") or {}, locale=survey.locale)
            except ValidationError as exc:
                return json_errors(exc)
            return JsonResponse({"id": response.pk, "score": response.score, "group": response.group,
                                 "thanks_url": thanks_url(token)})
        questions = services.survey_questions(survey)
        answers = answers_from_post(request.POST, questions)
        score = parse_score(request.POST.get("score"))
        try:
            services.submit_response(survey=survey, invitation=invitation, score=request.POST.get("score"),
                                     comment=request.POST.get("comment", ""), answers=answers,
                                     locale=survey.locale)
        except ValidationError as exc:
            response = Response.objects.filter(invitation=invitation).first()
            return form_page(request, survey=survey, score=score, invitation=invitation, response=response,
                             errors=exc.message_dict, posted=answers, comment=request.POST.get("comment", ""),
                             status=400)
        return redirect("respond:thanks", token=token)


@public_page
@require_GET
def thanks_page(request: HttpRequest, token: str) -> HttpResponse:
    """The thank-you content for the response's score group (and the survey's redirect)."""
    invitation = services.invitation_for_token(token)
    with respondent(invitation.survey):
        response = Response.objects.filter(invitation=invitation).first()
        if response is None:
            return redirect("respond:token", token=token)
        return thanks(request, invitation.survey, response.group,
                      edit_url=reverse("respond:token", kwargs={"token": token}),
                      action_url=reverse("respond:action", kwargs={"token": token}))


def thanks(request: HttpRequest, survey: Survey, group: str, edit_url: str = "",
           action_url: str = "") -> HttpResponse:
    """The group's thank-you content; its action link goes through ``action_url`` (click counting)."""
    content = (survey.thank_you or {}).get(group) or {}
    target = actions.action_target(survey, group)
    return render_survey_page(request, survey, "responses/public/thanks.html", group=group,
                              message=content.get("message", ""), link_text=content.get("link_text", ""),
                              link_url=action_url if target and action_url else "", redirect_url=survey.redirect_url,
                              edit_url=edit_url)


@public_page
@require_GET
def token_action(request: HttpRequest, token: str) -> HttpResponse:
    """The thank-you action link of a token survey: record the click, redirect to the configured URL.

    A deliberate GET that writes (like ``honeypot``): it is the respondent's own click on a link the
    survey owner configured; the target comes from the survey, never from the request.
    """
    invitation = services.invitation_for_token(token)
    with respondent(invitation.survey):
        response = Response.objects.filter(invitation=invitation).first()
        if response is None:
            return redirect("respond:token", token=token)
        click = actions.record_action_click(survey=invitation.survey, group=response.group, response=response)
        return redirect(click.url)


@public_page
@require_GET
def honeypot(request: HttpRequest, token: str) -> HttpResponse:
    """An invisible link in the email and the page: only scanners follow it (D5).

    A deliberate exception to "GET changes nothing": following it is the signal. It is
    remembered for a week, and flags an answer the page posted on its own (kept, shown to
    admins, left out of the metrics) unless a person already confirmed it.
    """
    invitation = services.invitation_for_token(token)
    try:
        cache.set(f"hp:{invitation.pk}", 1, timeout=HONEYPOT_TTL)
    except Exception:  # Redis down: fail open
        logger.warning("cache unavailable; honeypot not remembered")
    with respondent(invitation.survey):
        services.flag_suspected_bot(invitation=invitation, reason="honeypot link opened")
        return render_survey_page(request, invitation.survey, "responses/public/honeypot.html")


# ---------------------------------------------------------------- link surveys: /s/<public-id>


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def link_page(request: HttpRequest, public_id: str) -> HttpResponse:
    """A link survey: query parameters become properties, ``?score=N`` preselects; each submit
    creates a fresh response (channel ``link``)."""
    survey = services.survey_for_public_id(public_id)
    with respondent(survey):
        try:
            properties = link_properties(request.GET)
        except ValidationError:
            properties = {}
        score = parse_score(request.POST.get("score") if request.method == "POST" else request.GET.get("score"))
        if score is not None and score not in survey.scores:
            score = None
        if request.method != "POST":
            return form_page(request, survey=survey, score=score, properties=properties)
        limit_writes(request, token_key=f"survey{survey.pk}:{request.META.get('REMOTE_ADDR', '')}")
        if request.POST.get(HONEYPOT_FIELD):  # a bot filled the invisible field: thank it, store nothing
            return thanks(request, survey, survey.group_of(score) if score is not None else "passive")
        answers = answers_from_post(request.POST, list(survey.questions.all()))
        try:
            response = services.submit_response(
                survey=survey, score=request.POST.get("score"), comment=request.POST.get("comment", ""),
                answers=answers, channel=Channel.LINK, properties=link_properties(request.GET),
                locale=survey.locale)
        except ValidationError as exc:
            return form_page(request, survey=survey, score=score, properties=properties, errors=exc.message_dict,
                             posted=answers, comment=request.POST.get("comment", ""), status=400)
        signed = actions.sign_link_action(survey=survey, group=response.group, response=response)
        return redirect(f"{reverse('respond:link-thanks', kwargs={'public_id': public_id})}"
                        f"?{urlencode({'group': response.group, 'a': signed})}")


@public_page
@require_GET
def link_thanks(request: HttpRequest, public_id: str) -> HttpResponse:
    survey = services.survey_for_public_id(public_id)
    with respondent(survey):
        group, response = request.GET.get("group", ""), None
        if request.GET.get("a"):
            with suppress(services.LinkUnknown):
                group, response = actions.unsign_link_action(survey=survey, value=request.GET["a"])
        group = group if group in actions.GROUPS else "passive"
        signed = actions.sign_link_action(survey=survey, group=group, response=response)
        return thanks(request, survey, group, action_url=reverse(
            "respond:link-action", kwargs={"public_id": public_id, "signed": signed}))


@public_page
@require_GET
def link_action(request: HttpRequest, public_id: str, signed: str) -> HttpResponse:
    """The thank-you action link of a link survey (signed: survey, group, response): record, redirect.

    A deliberate GET that writes; see ``token_action``.
    """
    survey = services.survey_for_public_id(public_id)
    with respondent(survey):
        group, response = actions.unsign_link_action(survey=survey, value=signed)
        click = actions.record_action_click(survey=survey, group=group, response=response)
        return redirect(click.url)


# ---------------------------------------------------------------- web widget: /w/<public-id>/...


def widget_response(data: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store"
    return response


def nonce_identity(data: dict[str, Any], survey: Survey, public_id: str) -> dict[str, Any]:
    """The user the widget's nonce was issued for (the nonce is signed: no cookies, no CSRF); refused
    when it is unverified while the account requires a verified identity."""
    try:
        identity = signing.loads(str(data.get("nonce", "")), salt="responses.widget", max_age=WIDGET_NONCE_MAX_AGE)
    except signing.BadSignature:
        raise ValidationError({"nonce": _("The widget session expired; reload the page.")}) from None
    if identity.get("s") != public_id:
        raise ValidationError({"nonce": _("The widget session expired; reload the page.")})
    widget_identity.check_nonce_verified(account=survey.account, identity=identity)
    return identity


def widget_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, public_id: str) -> HttpResponse:
        try:
            limit_address(request, defer=True)
            limit_writes(request, token_key=f"w{public_id}:{request.META.get('REMOTE_ADDR', '')}")
            return view(request, public_id)
        except services.LinkUnknown:
            return widget_response({"errors": {"survey": [_("No such survey.")]}}, status=404)
        except services.LinkGone:
            return widget_response({"show": False}, status=410)
        except RateLimited as exc:
            response = widget_response({"errors": {"__all__": [_("Too many requests.")]}}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except widget_identity.WidgetIdentityRejected as exc:
            return json_errors(exc, status=exc.status)
        except ValidationError as exc:
            return json_errors(exc)

    return wrapper


@require_GET
@widget_limited
def widget_config(request: HttpRequest, public_id: str) -> JsonResponse:
    """What the widget shows to this user, or ``{"show": false}`` inside the throttle window."""
    survey = services.survey_for_public_id(public_id)
    email = (request.GET.get("email") or "").strip()[:254] or None
    user_id = (request.GET.get("user_id") or "").strip()[:100] or None
    verified = widget_identity.verify_widget_identity(
        account=survey.account, email=email, user_id=user_id, user_hash=request.GET.get("user_hash"))
    with respondent(survey):
        if not services.widget_should_show(survey=survey, email=email):
            return widget_response({"show": False})
        nonce = signing.dumps({"s": public_id, "e": email, "u": user_id, "v": verified, "n": secrets.token_hex(6)},
                              salt="responses.widget")
        with translation.override(survey.locale):
            texts = {"close": _("Close"), "send": _("Send"), "thanks": _("Thank you for your feedback!"),
                     "comment": _("What is the main reason for your score?"), "dismiss": _("Not now")}
        return widget_response({
            "show": True, "verified": verified, "nonce": nonce,
            "question": selectors.fill_placeholders(survey.question, survey=survey),
            "scores": list(survey.scores), "low_label": survey.low_label, "high_label": survey.high_label,
            "color": survey.account.brand_color, "locale": survey.locale, "texts": texts,
            "post_url": request.build_absolute_uri(reverse("respond:widget-respond", kwargs={"public_id": public_id})),
            "dismiss_url": request.build_absolute_uri(
                reverse("respond:widget-dismiss", kwargs={"public_id": public_id})),
        })


@csrf_exempt  # cross-origin JSON authenticated by the signed nonce; no cookies are used
@require_POST
@widget_limited
def widget_respond(request: HttpRequest, public_id: str) -> JsonResponse:
    """Record a widget answer: JSON ``{"nonce", "score", "comment", "properties"}``."""
    survey = services.survey_for_public_id(public_id)
    data = json_body(request)
    identity = nonce_identity(data, survey, public_id)
    with respondent(survey):
        response = services.record_widget_response(
            survey=survey, score=data.get("score"), email=identity.get("e"), external_id=identity.get("u"),
            comment=data.get("comment"), properties=data.get("properties"), locale=survey.locale)
        return widget_response({"id": response.pk, "score": response.score, "group": response.group}, status=201)


@csrf_exempt  # cross-origin, authenticated by the signed nonce
@require_POST
@widget_limited
def widget_dismiss(request: HttpRequest, public_id: str) -> JsonResponse:
    """The user closed the widget: do not ask again within the throttle window."""
    survey = services.survey_for_public_id(public_id)
    identity = nonce_identity(json_body(request), survey, public_id)
    with respondent(survey):
        if identity.get("e"):
            services.dismiss_widget(survey=survey, email=identity["e"])
        return widget_response({"dismissed": True})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A friendly 403 when a form's security token is missing or stale (TK-6).

    On a respondent page it offers the same page again, which keeps the chosen score
    (``/r/<token>/<score>``); nothing was recorded.
    """
    nonce = secrets.token_urlsafe(12)
    retry = request.path if request.path.startswith(("/r/", "/s/")) else ""
    response = render(request, "responses/public/csrf_failure.html", {"retry_url": retry, "nonce": nonce},
                      status=403)
    return secure_headers(response, nonce)
