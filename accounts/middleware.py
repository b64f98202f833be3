"""Request doors into the tenant scope for pages (``/app/<account>/...``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django_scopes.state import state

from accounts.models import Account, Membership
from accounts.scoping import activate_account_scope

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class ScopeResetMiddleware:
    """Start every request with no scope and restore the previous state afterwards.

    Worker threads are reused between requests; without this a scope activated by one request
    (API authentication, ``AccountMiddleware``) could leak into the next.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The Django admin is for operators and works across accounts on purpose.
        token = state.set({"_enabled": False} if request.path.startswith("/admin/") else {})
        try:
            return self.get_response(request)
        finally:
            state.reset(token)


class AccountMiddleware:
    """Resolve ``request.account`` from the URL's account slug and the user's membership.

    Not logged in: redirect to log-in. Not a member, or no such account: 404 (never 403, so an
    account's existence does not leak). Viewers may only read: any other method is refused.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.account = None
        request.membership = None
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: dict[str, Any]) -> HttpResponse | None:
        slug = view_kwargs.get("account")
        if slug is None or not request.path.startswith("/app/"):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = (
            Membership.objects.select_related("account")
            .filter(user=request.user, account__slug=slug)
            .first()
        )
        if membership is None:
            raise Http404("No such account.")
        if request.method not in SAFE_METHODS and not membership.can_edit:
            raise PermissionDenied("Viewers can only read.")
        request.account = membership.account
        request.membership = membership
        activate_account_scope(membership.account)
        request.session["last_account"] = slug
        return None


def accounts_of(user: Any) -> list[Account]:
    """The accounts a user belongs to, for the switcher."""
    if not user.is_authenticated:
        return []
    return [m.account for m in Membership.objects.filter(user=user).select_related("account")
            .order_by("account__name")]


class RejectNulMiddleware:
    """Answer 400 to a query string or form body carrying a NUL character.

    PostgreSQL text cannot store NUL: without this, a filter such as ``?q=%00`` would reach the
    database and fail with a 500. JSON APIs get a JSON body naming the parameter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = self._bad_parameter(request)
        if bad is not None:
            message = "Contains a NUL character."
            if request.path.startswith(("/api/", "/v1/", "/w/", "/integrations/")):
                return JsonResponse({"status": 400, "message": "Bad Request", "errors": {bad: [message]}}, status=400)
            return HttpResponseBadRequest(f"{bad}: {message}", content_type="text/plain")
        return self.get_response(request)

    @staticmethod
    def _bad_parameter(request: HttpRequest) -> str | None:
        if "%00" in request.META.get("QUERY_STRING", ""):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in v for v in values):
                    return name.replace("\x00", "") or "query"
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                for name, values in request.POST.lists():
                    if "\x00" in name or any("\x00" in v for v in values):
                        return name.replace("\x00", "") or "body"
            except Exception:  # a body Django cannot parse is the view's to reject
                return None
        return None
