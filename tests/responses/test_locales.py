"""Every respondent page renders in the survey's language (en, de, fr, fi, es)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from accounts.scoping import account_scope
from surveys.models import Survey
from tests.responses.conftest import mint_link

pytestmark = pytest.mark.django_db

REASON = {
    "en": "What is the main reason for your score?",
    "de": "Was ist der wichtigste Grund für Ihre Bewertung?",
    "fr": "Quelle est la principale raison de votre note ?",
    "fi": "Mikä on tärkein syy arvioosi?",
    "es": "¿Cuál es el motivo principal de su puntuación?",
}
THANKS = {
    "en": "Thank you for your feedback!", "de": "Vielen Dank für Ihr Feedback!", "fr": "Merci pour votre avis !",
    "fi": "Kiitos palautteestasi!", "es": "¡Gracias por sus comentarios!",
}


@pytest.mark.parametrize("locale", sorted(REASON))
def test_every_page_renders_in_the_surveys_language(client, survey, locale):
    with account_scope(survey.account):
        Survey.objects.filter(pk=survey.pk).update(locale=locale)
        survey.refresh_from_db()
    link = mint_link(survey)
    page = client.get(link.score_url(9))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<html lang="{locale}">' in html
    assert REASON[locale] in html
    assert page["Content-Language"] == locale
    client.post(link.url, {"score": "9"})
    assert THANKS[locale] in client.get(f"{link.url}/thanks").content.decode()
    widget = client.get(f"/w/{survey.public_id}/config").json()
    assert widget["texts"]["comment"] == REASON[locale]


def test_an_error_in_german_is_german(client, survey):
    with account_scope(survey.account):
        Survey.objects.filter(pk=survey.pk).update(locale="de")
        survey.refresh_from_db()
    link = mint_link(survey)
    page = client.post(link.url, {"score": "12"})
    assert "Die Bewertung muss zwischen 0 und 10 liegen." in page.content.decode()


def test_the_not_found_page_follows_the_browsers_language(client):
    page = client.get("/r/unknown-token", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 404
    assert "Ce lien d’enquête ne fonctionne pas" in page.content.decode()


@pytest.mark.parametrize("locale", ["de", "fr", "fi", "es"])
def test_every_respondent_string_is_translated_and_compiled(locale):
    folder = Path(__file__).resolve().parents[2] / "responses" / "locale" / locale / "LC_MESSAGES"
    entries = [e for e in (folder / "django.po").read_text(encoding="utf-8").split("\n\n")
               if re.search(r'^msgid "(?!")', e, re.M) or re.search(r'^msgid ""\n"', e, re.M)]
    untranslated = [e for e in entries if re.search(r'^msgstr ""\n?(?!")', e + "\n", re.M) or "#, fuzzy" in e]
    assert len(entries) > 50
    assert untranslated == []
    assert (folder / "django.mo").exists()
