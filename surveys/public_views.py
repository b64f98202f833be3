"""Public pages of surveys: the one-click unsubscribe (RFC 8058). The token is the only credential."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Account
from accounts.scoping import account_scope
from surveys import services


@csrf_exempt  # RFC 8058: the mail client's POST carries no cookie and no CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET/HEAD shows a confirmation form (scanners fetch links); POST unsubscribes, without a redirect."""
    ids = services.read_unsubscribe_token(token)
    account = Account.objects.filter(pk=ids[0]).first() if ids else None
    if account is None:
        raise Http404("Unknown unsubscribe link.")
    with account_scope(account):
        person = account.people.filter(pk=ids[1]).first()
        if person is None or not person.email:
            raise Http404("Unknown unsubscribe link.")
        locale = person.properties.get("locale") if isinstance(person.properties, dict) else None
        with translation.override(locale if locale in {"en", "de", "fr", "fi", "es"} else account.default_locale):
            if request.method == "POST":
                services.unsubscribe_person(person=person,
                                            source="one-click" if "List-Unsubscribe" in request.POST else "page")
                return render(request, "surveys/unsubscribed.html", {"account": account})
            return render(request, "surveys/unsubscribe.html", {"account": account, "token": token})
