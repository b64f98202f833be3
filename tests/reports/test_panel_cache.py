"""Cached report panels: a second view reads the cache (fewer queries), and a new response (which bumps
the rollup version) or a rebuild shows at once."""
from __future__ import annotations

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.reports.conftest import answer


def overview(client, acme, survey):
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/app/{acme.slug}/reports/?survey={survey.pk}&period=30d")
    assert page.status_code == 200
    return page, len(queries)


def test_the_overview_is_served_from_the_cache_until_a_response_changes_the_rollups(client, alice, acme,
                                                                                    nps_survey):
    answer(nps_survey, 10)
    client.force_login(alice)
    first, cold = overview(client, acme, nps_survey)
    second, warm = overview(client, acme, nps_survey)
    assert first.context["now"].total == second.context["now"].total == 1
    assert warm < cold  # the panels' rollup, invitation and answer queries were skipped
    assert 'data-testid="response-total">1<' in second.content.decode()  # the cached fragment
    answer(nps_survey, 0)
    third, _ = overview(client, acme, nps_survey)
    assert third.context["now"].total == 2 and third.context["now"].value == 0
    assert 'data-testid="response-total">2<' in third.content.decode()  # the fragment was rendered again


def test_two_accounts_never_share_a_cached_panel(client, alice, mallory, acme, globex, nps_survey):
    from tests.factories import SurveyFactory

    answer(nps_survey, 10)
    theirs = SurveyFactory(account=globex, name="Relationship NPS", is_default=True)
    client.force_login(alice)
    assert 'data-testid="response-total">1<' in overview(client, acme, nps_survey)[0].content.decode()
    client.force_login(mallory)
    page = client.get(f"/app/{globex.slug}/reports/?survey={theirs.pk}&period=30d")
    assert page.status_code == 200 and 'data-testid="response-total">0<' in page.content.decode()


def test_a_rebuild_of_the_rollups_invalidates_the_cached_panels(client, alice, acme, nps_survey):
    answer(nps_survey, 9)
    client.force_login(alice)
    overview(client, acme, nps_survey)
    call_command("rebuild_rollups", account=acme.slug)
    page, cold = overview(client, acme, nps_survey)
    _, warm = overview(client, acme, nps_survey)
    assert page.context["now"].total == 1 and warm < cold
