"""Top detractor issues on a small labelled set."""
from __future__ import annotations

from reports.themes import phrases, themes_by_language, top_themes

DETRACTORS = [
    "Billing error again, nobody called back.",
    "Another billing error on my invoice.",
    "I waited 40 minutes on the phone.",
    "Waited forever on the phone, then cut off.",
    "The billing error is still not fixed and support was friendly but useless.",
    "App crashes on login.",
]
PROMOTERS = [
    "Friendly support, solved in minutes.",
    "Very friendly and fast support.",
    "Great app, easy login.",
    "Support on the phone was great.",
]


def test_detractor_themes_find_billing_errors_and_waiting_not_friendly_support():
    themes = top_themes(DETRACTORS, PROMOTERS, locale="en")
    found = [t.phrase for t in themes]
    assert found[0] == "billing error"
    assert "waited" in found
    assert not any("friendly" in p for p in found)
    assert "billing" not in found  # covered by the bigram
    billing = themes[0]
    assert (billing.detractor_count, billing.promoter_count) == (3, 0)
    assert billing.examples[0] == "Billing error again, nobody called back."


def test_stop_words_are_dropped_per_language():
    assert phrases("Die Rechnung war schon wieder falsch", "de") == {"rechnung", "falsch"}
    assert "the" not in phrases("The app", "en")


def test_themes_are_grouped_per_language():
    rows = [("de", "detractor", "Lange Wartezeit am Telefon"), ("de", "detractor", "Wartezeit am Telefon zu lang"),
            ("de", "promoter", "Sehr freundlich"), ("en", "detractor", DETRACTORS[0]),
            ("en", "detractor", DETRACTORS[1]), ("en", "promoter", PROMOTERS[0])]
    by_language = themes_by_language(rows)
    assert set(by_language) == {"de", "en"}
    assert by_language["de"][0].phrase in ("wartezeit", "telefon")
    assert by_language["en"][0].phrase == "billing error"
