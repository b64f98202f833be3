"""The score page /r/<token>/<score>: a GET records nothing; the page's POST records; a later click changes it."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache

from accounts.events import Event
from accounts.scoping import account_scope
from responses.models import Response
from surveys.models import Invitation
from tests.responses.conftest import mint_link

pytestmark = pytest.mark.django_db


def responses_of(link):
    with account_scope(link.invitation.account):
        return list(Response.objects.filter(invitation=link.invitation))


def test_opening_every_score_link_records_nothing(client, link):
    for score in range(11):
        assert client.get(link.score_url(score)).status_code == 200
        assert client.head(link.score_url(score)).status_code == 200
    assert client.get(link.url).status_code == 200
    assert responses_of(link) == []


def test_the_score_page_shows_the_clicked_score_selected_with_a_submit_button(client, link):
    page = client.get(link.score_url(9)).content.decode()
    assert 'value="9" checked' in page
    assert 'type="submit"' in page
    assert "What is the main reason for your score?" in page
    assert "How likely are you to recommend Acme" in page  # placeholder filled from the survey's defaults


def test_the_pages_post_records_the_score_once_with_its_event(client, link):
    response = client.post(link.score_url(9), {"score": 9, "auto": "1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["group"] == "promoter"
    client.post(link.score_url(9), {"score": 9, "auto": "1"}, HTTP_ACCEPT="application/json")
    [saved] = responses_of(link)
    assert (saved.score, saved.channel, saved.suspected_bot) == (9, "email", False)
    with account_scope(link.invitation.account):
        assert Event.objects.filter(kind="response.created").count() == 1
        assert Event.objects.filter(kind="response.updated").count() == 0


def test_a_second_click_changes_the_score_of_the_same_response(client, link):
    client.post(link.score_url(9), {"score": 9})
    client.post(link.score_url(3), {"score": 3})
    [saved] = responses_of(link)
    assert saved.score == 3
    with account_scope(link.invitation.account):
        assert Event.objects.filter(kind="response.updated", payload__response_id=saved.pk).count() == 1


def test_a_form_post_without_script_goes_on_to_the_answer_page(client, link):
    response = client.post(link.score_url(7), {"score": 7})
    assert response.status_code == 302
    assert response["Location"] == link.url
    assert 'value="7" checked' in client.get(link.url).content.decode()


def test_a_score_outside_the_scale_gets_a_400_naming_the_field(client, link):
    response = client.post(link.score_url(11), {"score": 11}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "score" in response.json()["errors"]
    response = client.post(link.url, json.dumps({"score": "nine"}), content_type="application/json")
    assert response.status_code == 400
    assert "score" in response.json()["errors"]
    assert responses_of(link) == []


def test_a_form_without_a_score_comes_back_with_the_error(client, link):
    response = client.post(link.url, {"comment": "no score"})
    assert response.status_code == 400
    assert 'id="score_errors"' in response.content.decode()
    assert "no score" in response.content.decode()  # what they typed is kept
    assert responses_of(link) == []


def test_an_unknown_link_gets_a_friendly_404(client):
    response = client.get("/r/not-a-real-token/9")
    assert response.status_code == 404
    assert "This survey link does not work" in response.content.decode()
    assert client.post("/r/not-a-real-token/9", {"score": 9}).status_code == 404


def test_an_expired_link_gets_a_friendly_410(client, survey):
    expired = mint_link(survey, expires_in=timedelta(seconds=-1))
    response = client.get(expired.score_url(9))
    assert response.status_code == 410
    assert "This survey is closed" in response.content.decode()
    assert client.post(expired.score_url(9), {"score": 9}).status_code == 410
    assert responses_of(expired) == []


def test_a_cancelled_invitation_gets_a_410(client, survey):
    cancelled = mint_link(survey, status=Invitation.Status.CANCELLED)
    assert client.get(cancelled.url).status_code == 410


def test_an_answered_link_stays_editable_after_it_expires_within_the_edit_window(client, survey):
    link = mint_link(survey)
    client.post(link.score_url(5), {"score": 5})
    with account_scope(survey.account):
        Invitation.objects.filter(pk=link.invitation.pk).update(token_expires_at=link.invitation.created_at)
    assert client.post(link.score_url(6), {"score": 6}).status_code == 302
    assert responses_of(link)[0].score == 6


def test_an_answer_outside_the_edit_window_cannot_change(client, link, time_machine):
    client.post(link.score_url(5), {"score": 5})
    time_machine.move_to(responses_of(link)[0].created_at + timedelta(days=31))
    response = client.post(link.score_url(10), {"score": 10}, HTTP_ACCEPT="application/json")
    assert response.status_code in (400, 410)
    assert responses_of(link)[0].score == 5


def test_respondent_pages_send_a_strict_csp_and_keep_the_token_private(client, link):
    response = client.get(link.score_url(9))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"
    assert "noindex" in response["X-Robots-Tag"]
    page = response.content.decode()
    assert "<script>" not in page and "http://" not in page.replace('xmlns="http://', "") and "https://" not in page
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in page  # the brand colour, and nothing else inline


def test_the_page_carries_the_accounts_brand_colour(client, link, acme):
    acme.brand_color = "#aa1100"
    acme.save()
    assert "--brand: #aa1100" in client.get(link.score_url(9)).content.decode()


def test_a_honeypot_click_flags_the_automatic_post_as_a_scanner(client, link):
    cache.clear()
    assert client.get(f"/r/{link.token}/hp").status_code == 200
    client.post(link.score_url(10), {"score": 10, "auto": "1"})
    [saved] = responses_of(link)
    assert saved.suspected_bot and "honeypot" in saved.bot_reason
    with account_scope(link.invitation.account):
        from responses.models import DailyRollup
        assert not DailyRollup.objects.exists()  # left out of the metrics


def test_a_honeypot_after_the_automatic_post_flags_it_but_a_human_click_confirms_it(client, link):
    cache.clear()
    client.post(link.score_url(10), {"score": 10, "auto": "1"})
    client.get(f"/r/{link.token}/hp")
    assert responses_of(link)[0].suspected_bot
    client.post(link.score_url(9), {"score": 9, "auto": "0"})
    [saved] = responses_of(link)
    assert (saved.score, saved.suspected_bot) == (9, False)
    with account_scope(link.invitation.account):
        from responses.models import DailyRollup
        assert DailyRollup.objects.get().counts[9] == 1


def test_headless_signals_count_only_where_the_account_turned_them_on(client, link, acme):
    client.post(link.score_url(8), {"score": 8, "auto": "1", "webdriver": "1"})
    assert not responses_of(link)[0].suspected_bot
    acme.headless_signals = True
    acme.save()
    other = mint_link(link.invitation.survey)
    client.post(other.score_url(8), {"score": 8, "auto": "1", "webdriver": "1"})
    assert responses_of(other)[0].suspected_bot


def test_the_form_post_needs_the_csrf_token(link):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    refused = client.post(link.score_url(9), {"score": 9})
    assert refused.status_code == 403
    assert "Please try again" in refused.content.decode()
    assert f'href="{link.score_url(9)}"' in refused.content.decode()  # back to the same score
    assert responses_of(link) == []
    page = client.get(link.score_url(9)).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post(link.score_url(9), {"score": 9, "csrfmiddlewaretoken": token}).status_code == 302
    assert responses_of(link)[0].score == 9


def test_mallory_signed_in_gains_nothing_from_an_acme_link(client, mallory, link):
    client.force_login(mallory)
    client.post(link.score_url(9), {"score": 9})
    [saved] = responses_of(link)
    assert saved.account_id == link.invitation.account_id
    assert client.get(saved.get_absolute_url()).status_code == 404
