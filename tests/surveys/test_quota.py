"""Send quotas (EM-28): hourly and daily caps per account, a recipient cap per request, the settings form."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import account_scope, cross_account
from surveys import services
from surveys.models import Invitation, Person
from surveys.services.quotas import RecipientCapExceeded, check_recipient_cap, quota_room
from tests.factories import InvitationFactory, MembershipFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def dispatch_once() -> None:
    call_command("dispatch", "--once", stdout=io.StringIO())


def schedule(survey, n: int, prefix: str = "q") -> list[Invitation]:
    people = [PersonFactory(account=survey.account, email=f"{prefix}{i}@example.com") for i in range(n)]
    return [services.schedule_invitation(survey=survey, person=p) for p in people]


def by_status(account) -> dict[str, int]:
    with cross_account():
        rows = Invitation.objects.filter(account=account).values_list("status", flat=True)
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_an_hourly_quota_of_5_sends_5_of_8_and_skips_3(smtp_sink, survey, in_acme):
    account = survey.account
    account.send_quota_hourly = 5
    account.save(update_fields=["send_quota_hourly"])
    schedule(survey, 8)
    dispatch_once()
    dispatch_once()  # a second tick finds no room either
    assert by_status(account) == {"sent": 5, "skipped_quota": 3}
    assert len(smtp_sink.wait_for(5)) == 5
    with cross_account():
        reasons = set(Invitation.objects.filter(account=account, status="skipped_quota")
                      .values_list("failure_reason", flat=True))
    assert reasons == {"hourly send quota of 5 reached"}


def test_the_daily_quota_counts_what_was_sent_earlier_today(smtp_sink, survey, in_acme):
    account = survey.account
    account.send_quota_hourly, account.send_quota_daily = 100, 3
    account.save(update_fields=["send_quota_hourly", "send_quota_daily"])
    earlier = timezone.now() - timedelta(hours=3)
    for i in range(2):  # two sent three hours ago: outside the hour, inside the day
        InvitationFactory(account=account, survey=survey, person=PersonFactory(account=account),
                          status=Invitation.Status.SENT, sent_at=earlier)
    InvitationFactory(account=account, survey=survey, person=PersonFactory(account=account),
                      status=Invitation.Status.SENT, sent_at=timezone.now() - timedelta(days=2))  # not counted
    schedule(survey, 3)
    dispatch_once()
    counts = by_status(account)
    assert counts == {"sent": 3 + 1, "skipped_quota": 2}, counts
    with cross_account():
        assert set(Invitation.objects.filter(account=account, status="skipped_quota")
                   .values_list("failure_reason", flat=True)) == {"daily send quota of 3 reached"}
    assert len(smtp_sink.wait_for(1)) == 1


def test_rows_handed_to_send_tasks_count_before_they_are_sent(survey, in_acme):
    account = survey.account
    account.send_quota_hourly = 4
    account.save(update_fields=["send_quota_hourly"])
    schedule(survey, 3)
    handed: list[list[int]] = []
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: handed.append(ids))  # tasks not run yet
    assert sum(map(len, handed)) == 3
    room, _reason = quota_room(account=account, now=timezone.now())
    assert room == 1
    schedule(survey, 3, prefix="late")
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: handed.append(ids))
    assert sum(map(len, handed)) == 4
    assert by_status(account) == {"scheduled": 4, "skipped_quota": 2}


def test_the_recipient_cap_refuses_a_request_naming_the_field(survey, in_acme):
    account = survey.account
    account.send_recipient_cap = 3
    account.save(update_fields=["send_recipient_cap"])
    check_recipient_cap(account, 3)
    with pytest.raises(RecipientCapExceeded) as caught:
        check_recipient_cap(account, 4)
    assert caught.value.message_dict == {"recipients": ["At most 3 recipients per request (this one has 4); "
                                                        "split it up."]}
    assert (caught.value.cap, caught.value.requested) == (3, 4)
    for i in range(4):
        PersonFactory(account=account, email=f"cap{i}@example.com")
    with pytest.raises(ValidationError) as caught:
        services.send_survey_to(survey=survey, people=Person.objects.filter(email__startswith="cap"))
    assert "people" in caught.value.message_dict
    assert not Invitation.objects.filter(account=account).exists()  # nothing half-written


def test_owners_edit_the_quotas_in_the_settings_and_bad_values_are_refused(client, acme):
    olga = MembershipFactory(account=acme, user=UserFactory(username="olga@acme.example"), role=Role.OWNER).user
    client.force_login(olga)  # admins only see the quotas (tests/accounts/test_quota_owner_only.py)
    url = reverse("accounts:settings", kwargs={"account": acme.slug})
    base = {"name": "Acme", "time_zone": "UTC", "default_locale": "en", "brand_color": "#3b5bdb",
            "throttle_days": "30", "link_expiry_days": "90", "edit_window_days": "30"}
    page = client.get(url).content.decode()
    assert 'name="send_quota_hourly"' in page and 'name="send_recipient_cap"' in page
    response = client.post(url, {**base, "send_quota_hourly": "50", "send_quota_daily": "400",
                                 "send_recipient_cap": "20"}, follow=True)
    assert "Settings saved." in response.content.decode()
    acme.refresh_from_db()
    assert (acme.send_quota_hourly, acme.send_quota_daily, acme.send_recipient_cap) == (50, 400, 20)
    response = client.post(url, {**base, "send_quota_hourly": "500", "send_quota_daily": "400",
                                 "send_recipient_cap": "0"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The hourly quota cannot be above the daily one." in body and "Use at least 1." in body
    response = client.post(url, base, follow=True)  # a form without the quota fields keeps them
    assert "Settings saved." in response.content.decode()
    acme.refresh_from_db()
    assert (acme.send_quota_hourly, acme.send_quota_daily, acme.send_recipient_cap) == (50, 400, 20)


def test_a_new_account_gets_the_default_quotas(acme):
    with account_scope(acme):
        assert (acme.send_quota_hourly, acme.send_quota_daily, acme.send_recipient_cap) == (2000, 10000, 1000)


def test_the_invitations_page_filters_and_counts_skipped_quota(client, alice, survey, in_acme):
    account = survey.account
    account.send_quota_hourly = 1
    account.save(update_fields=["send_quota_hourly"])
    schedule(survey, 3)
    services.dispatch_due(enqueue=lambda account_id, ids, attempt: None)
    client.force_login(alice)
    url = reverse("surveys:invitation-list", kwargs={"account": account.slug})
    page = client.get(url, {"status": "skipped_quota"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Skipped: over the send quota" in body
    assert [row.status for row in page.context["page"]] == ["skipped_quota", "skipped_quota"]
    assert ("skipped_quota", "Skipped: over the send quota", 2) in page.context["counts"]
