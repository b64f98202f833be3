"""One-click unsubscribe (RFC 8058): GET confirms, POST (no cookies, no CSRF) suppresses."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Suppression
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def link(person):
    return "/u/" + services.unsubscribe_token(account_id=person.account_id, person_id=person.pk)


def suppressed(account):
    with cross_account():
        return list(Suppression.objects.filter(account=account).values_list("email", "reason"))


def test_opening_the_link_asks_for_confirmation_and_changes_nothing(client, person, acme):
    response = client.get(link(person))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert client.head(link(person)).status_code == 200
    assert suppressed(acme) == []


@pytest.mark.parametrize("multipart", [True, False])
def test_the_one_click_post_unsubscribes_without_a_redirect(person, acme, survey, multipart):
    with account_scope(acme):
        pending = services.schedule_invitation(survey=survey, person=person)
    browserless = Client(enforce_csrf_checks=True)
    if multipart:
        response = browserless.post(link(person), {"List-Unsubscribe": "One-Click"})
    else:
        response = browserless.post(link(person), "List-Unsubscribe=One-Click",
                                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Location" not in response
    assert browserless.post(link(person), {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert suppressed(acme) == [("ann@example.com", "unsubscribed")]
    with cross_account():
        assert Invitation.objects.get(pk=pending.pk).status == Invitation.Status.CANCELLED
        assert acme.events.filter(kind="person.unsubscribed").count() == 1


def test_a_tampered_link_is_not_found(client, person, acme):
    url = link(person)
    assert client.post(url[:-1] + ("A" if url[-1] != "A" else "B")).status_code == 404
    assert suppressed(acme) == []


def test_the_page_is_in_the_account_language(client, person, acme):
    acme.default_locale = "de"
    acme.save()
    assert "Abmelden" in client.get(link(person)).content.decode()


def test_mallory_cannot_unsubscribe_acme_people_with_a_globex_link(client, person, acme, globex, mallory):
    """A token signed for globex naming acme's person id finds nobody in globex."""
    token = services.unsubscribe_token(account_id=globex.pk, person_id=person.pk)
    client.force_login(mallory)
    assert client.post("/u/" + token).status_code == 404
    with account_scope(globex):
        PersonFactory(account=globex, email="ann@example.com")
    assert suppressed(acme) == []
