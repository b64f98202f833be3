"""The generic tenant isolation walker.

Two accounts get one of every tenant object (``TENANT_FACTORIES``). Then, logged in as alice (an
admin of acme), the walker requests every URL pattern of the project:

1. with globex's slug and globex's ids: must be 404 (not a member);
2. with acme's slug and globex's ids: must be 404 (object of another account).

A URL whose parameters the walker cannot fill fails the test unless it is listed in
``NOT_WALKED`` with the reason and the test that covers it instead. New URLs are covered
automatically: name them ``<model_name>-<action>`` with a ``pk`` argument, or use
``<model_name>_pk`` for other objects in the path.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Account
from accounts.scoping import cross_account
from tests.factories import TENANT_FACTORIES, AccountFactory, MembershipFactory, UserFactory

# URL name -> why it is not walked here, and which test covers its isolation instead.
NOT_WALKED: dict[str, str] = {
    "accounts:invite-accept": "public: the token names the invite and its account; "
                              "tests/accounts/test_invitations.py (unknown, used, expired tokens refused)",
    "accounts:password_reset_confirm": "public: Django's signed uid+token, no account in the path; "
                                       "tests/accounts/test_password_reset.py",
    "public_surveys:unsubscribe": "public: a signed token naming (account, person); "
                                  "tests/surveys/test_unsubscribe.py (tampered and other-account tokens -> 404)",
    "public_integrations:zapier-unsubscribe": "public, API key door (the key picks the account); "
                                              "tests/integrations/test_zapier.py (another account's key -> 404)",
    **{f"respond:{name}": "public: the token is the door (the invitation token or the survey's public id "
                          "picks the account); tests/responses/test_token_isolation.py, test_widget.py"
       for name in ("honeypot", "thanks", "score", "token", "link-thanks", "link", "widget-config",
                    "widget-respond", "widget-dismiss")},
    **{f"respond:{name}": "public: the token or the signed (survey, group, response) value is the door; "
                          "tests/cases/test_actions.py (unknown token, forged and other-survey links -> 404)"
       for name in ("action", "link-action")},
    # The public APIs (/v1/ Delighted-compatible, /api/v1/ REST): the API key picks the account.
    **{name: "public API, key door; tests/api/test_api_isolation.py walks every delighted:/restapi: route "
             "with acme's key on globex's ids (404) and canaries (never shown)"
       for name in ("restapi:survey-metrics", "restapi:survey-detail", "restapi:person-detail",
                    "restapi:invitation-detail", "restapi:response-detail", "restapi:suppression-detail",
                    "restapi:response-notes", "restapi:response-tags", "restapi:webhookendpoint-detail",
                    "restapi:zapiersubscription-detail", "restapi:case-detail", "restapi:case-notes",
                    "restapi:case-status", "restapi:trend-detail", "restapi:autopilotmembership-detail",
                    "delighted:people", "delighted:person-pending", "delighted:person-detail",
                    "delighted:surveyresponse-list", "delighted:surveyresponse-detail", "delighted:metrics",
                    "delighted:unsubscribes", "delighted:bounces", "delighted:autopilotmembership-list",
                    "delighted:autopilot-detail")},
}

# URL namespaces that are not tenant pages: the admin is for operators (staff only).
SKIPPED_NAMESPACES = {"admin"}


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models()
            if any(f.name == "account" and f.is_relation and f.related_model is Account
                   for f in m._meta.get_fields())]


def walk(resolvers: list, namespace: str = "", converters: dict | None = None,
         route: str = "") -> Iterator[tuple[str, list[str], str]]:
    """Yield (full url name, kwarg names, route) for every named URL pattern."""
    for entry in resolvers:
        # path() converters and re_path()/router named groups alike: a parameter is a parameter.
        named_groups = dict.fromkeys(getattr(getattr(entry.pattern, "regex", None), "groupindex", {}) or {})
        conv = {**(converters or {}), **named_groups, **getattr(entry.pattern, "converters", {})}
        text = route + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (entry.namespace or namespace)
            yield from walk(entry.url_patterns, ns, conv, text)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, sorted(conv), text


@pytest.fixture
def two_worlds(db):
    """acme and globex with one of every tenant object each; alice is acme's admin."""
    acme = AccountFactory(name="Acme", slug="acme")
    globex = AccountFactory(name="Globex", slug="globex")
    alice = MembershipFactory(account=acme, user=UserFactory(username="alice@acme.example")).user
    objects: dict[str, dict[str, models.Model]] = {"acme": {}, "globex": {}}
    missing = [m._meta.label for m in tenant_models() if m._meta.label not in TENANT_FACTORIES]
    assert not missing, f"add a factory to tests/factories for tenant models: {missing}"
    with cross_account():
        for key, account in (("acme", acme), ("globex", globex)):
            for label, factory in TENANT_FACTORIES.items():
                objects[key][label] = factory(account=account)
    return acme, globex, alice, objects


def object_for(kwarg: str, url_name: str, objects: dict[str, models.Model]) -> models.Model | None:
    by_name = {label.split(".")[1].lower(): obj for label, obj in objects.items()}
    if kwarg in ("pk", "id"):
        model_name = url_name.split(":")[-1].split("-")[0].replace("_", "")
    else:
        model_name = kwarg.removesuffix("_pk").removesuffix("_id").replace("_", "")
    return by_name.get(model_name)


def test_every_tenant_url_answers_404_to_another_account(client, two_worlds):
    acme, globex, alice, objects = two_worlds
    client.force_login(alice)
    unfillable, leaks, walked = [], [], 0
    for name, kwargs, route in walk(get_resolver().url_patterns):
        if name.split(":")[0] in SKIPPED_NAMESPACES or name in NOT_WALKED:
            continue
        if not kwargs:
            continue  # no tenant data in the path: nothing to cross
        if "account" not in kwargs:
            unfillable.append(f"{name} ({route}): public URL with parameters; list it in NOT_WALKED")
            continue
        values = {}
        for kwarg in kwargs:
            if kwarg == "account":
                continue
            obj = object_for(kwarg, name, objects["globex"])
            if obj is None:
                unfillable.append(f"{name} ({route}): cannot fill {kwarg!r}")
                break
            values[kwarg] = obj.pk
        else:
            for slug in ("globex", "acme"):
                if slug == "acme" and not values:
                    continue  # nothing of globex's in the path besides the slug
                url = reverse(name, kwargs={"account": slug, **values})
                walked += 1
                for method in ("get", "post"):
                    status = getattr(client, method)(url).status_code
                    if status == 405:
                        continue
                    if status != 404:
                        leaks.append(f"{method.upper()} {url} ({name}) -> {status}")
    assert not unfillable, "URLs the walker cannot fill:\n" + "\n".join(unfillable)
    assert not leaks, "another account's data was reachable:\n" + "\n".join(leaks)
    assert walked >= 1


def test_an_anonymous_visitor_is_sent_to_log_in(client, two_worlds):
    acme, *_ = two_worlds
    response = client.get(reverse("accounts:dashboard", kwargs={"account": acme.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
