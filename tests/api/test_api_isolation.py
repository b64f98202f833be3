"""The API isolation walker: every /v1/ and /api/ route, called with acme's key on globex's objects.

Like tests/test_isolation.py (which skips these public, key-authenticated URLs: see its NOT_WALKED),
every route with an object in its path must answer 404 (or 405) to another account's id, for every
method; every list route must show none of globex's canary rows. New routes are walked automatically;
a path parameter this walker cannot fill fails the test.
"""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.scoping import cross_account
from responses.models import Response
from surveys.models import Person
from tests.api.conftest import new_key
from tests.factories import PersonFactory, ResponseFactory
from tests.test_isolation import two_worlds  # noqa: F401, F811  (a fixture)

API_NAMESPACES = ("delighted", "restapi")
METHODS = ("get", "post", "put", "patch", "delete")
CANARY = "canary-globex"


def walk(entries: list, namespace: str = "", params: frozenset = frozenset(), route: str = "") -> Iterator[tuple]:
    """(url name, path parameter names, route) of every named pattern, regex groups included."""
    for entry in entries:
        names = params | set(getattr(entry.pattern, "converters", {})) | set(entry.pattern.regex.groupindex)
        text = route + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (entry.namespace or namespace)
            yield from walk(entry.url_patterns, ns, frozenset(names), text)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), sorted(names), text


def api_routes() -> list[tuple[str, list[str], str]]:
    return [(name, kwargs, route) for name, kwargs, route in walk(get_resolver().url_patterns)
            if name.split(":")[0] in API_NAMESPACES]


def fill(name: str, kwarg: str, objects: dict, person: Person, response: Response) -> str | None:
    """The value of a path parameter naming one of globex's objects, or None if unknown."""
    by_model = {label.split(".")[1].lower(): obj for label, obj in objects.items()}
    if kwarg == "identifier":
        return str(person.pk)
    if kwarg == "email":
        return person.email
    if kwarg == "platform":
        return "email"
    if kwarg == "pk":
        model = name.split(":")[-1].split("-")[0]
        if model == "surveyresponse":
            return str(response.pk)
        obj = by_model.get(model)
        return None if obj is None else str(obj.pk)
    return None


@pytest.mark.django_db
def test_every_api_route_answers_404_to_another_accounts_ids_and_lists_show_none_of_them(client, two_worlds):  # noqa: F811
    acme, globex, _alice, objects = two_worlds
    with cross_account():
        person = PersonFactory(account=globex, email=f"{CANARY}@globex.example", name=CANARY)
        response = ResponseFactory(account=globex, survey=objects["globex"]["surveys.Survey"], person=person,
                                   comment=CANARY)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {new_key(acme)}", "HTTP_ACCEPT": "application/json"}
    unfillable, leaks, walked = [], [], 0
    routes = api_routes()
    assert {name.split(":")[0] for name, _, _ in routes} == set(API_NAMESPACES)
    for name, kwargs, route in routes:
        if "account" in kwargs:
            continue  # a tenant page (the import page): tests/test_isolation.py walks it
        values = {}
        for kwarg in kwargs:
            if kwarg == "fmt":
                continue
            value = fill(name, kwarg, objects["globex"], person, response)
            if value is None:
                unfillable.append(f"{name} ({route}): cannot fill {kwarg!r}")
                break
            values[kwarg] = value
        else:
            url = reverse(name, kwargs=values)
            if "identifier" in values:
                urls = [url, url.replace(values["identifier"], quote(f"email:{person.email}", safe=""))]
            else:
                urls = [url]
            for target in urls:
                for method in METHODS:
                    walked += 1
                    answer = getattr(client, method)(target, content_type="application/json", **headers)
                    body = answer.content.decode().lower()
                    if CANARY in body or str(person.email) in body:
                        leaks.append(f"{method.upper()} {target} ({name}) showed globex data")
                    elif values and values.get("platform") is None and answer.status_code not in (404, 405):
                        leaks.append(f"{method.upper()} {target} ({name}) -> {answer.status_code}")
    assert not unfillable, "API routes the walker cannot fill:\n" + "\n".join(unfillable)
    assert not leaks, "another account's data was reachable:\n" + "\n".join(leaks)
    assert walked > 50
    with cross_account():
        assert Person.objects.filter(pk=person.pk).exists() and Response.objects.filter(pk=response.pk).exists()
