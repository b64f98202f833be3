"""Send quotas (EM-28): per-account hourly and daily caps on emails, and a cap on recipients per request.

The dispatcher asks ``quota_room`` before handing rows out (rows past it become ``skipped_quota``);
request handlers that create many invitations at once call ``check_recipient_cap`` first.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.scoping import cross_account
from surveys.models import Invitation


class RecipientCapExceeded(ValidationError):
    """More recipients in one request than the account may send to at once (an API answers 429)."""

    def __init__(self, *, cap: int, requested: int, field: str = "recipients") -> None:
        self.cap, self.requested = cap, requested
        super().__init__({field: _("At most %(cap)s recipients per request (this one has %(n)s); split it up.")
                          % {"cap": cap, "n": requested}})


def check_recipient_cap(account: Account, n: int, *, field: str = "recipients") -> None:
    """Raise RecipientCapExceeded when one request would invite more than the account's cap."""
    if n > account.send_recipient_cap:
        raise RecipientCapExceeded(cap=account.send_recipient_cap, requested=n, field=field)


def sends_counted(*, account: Account, now: datetime) -> tuple[int, int]:
    """Emails that count against the quotas in the last hour and the last day: rows handed to the
    mail server (``sent_at`` is set when a row is marked ``sending``), plus rows handed to send
    tasks and not sent yet (they count in both windows)."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    in_flight = Q(status=Invitation.Status.SCHEDULED, lease_until__gt=now)
    with cross_account():  # called by the dispatcher, outside any request scope
        counts = Invitation.objects.filter(Q(sent_at__gte=day) | in_flight, account_id=account.pk).aggregate(
            hour=Count("pk", filter=Q(sent_at__gte=hour) | in_flight), day=Count("pk"))
    return counts["hour"], counts["day"]


def quota_room(*, account: Account, now: datetime) -> tuple[int, str]:
    """How many more emails the account may send now, and the reason to give rows past that."""
    last_hour, last_day = sends_counted(account=account, now=now)
    hourly, daily = account.send_quota_hourly - last_hour, account.send_quota_daily - last_day
    if hourly <= daily:
        return max(hourly, 0), f"hourly send quota of {account.send_quota_hourly} reached"
    return max(daily, 0), f"daily send quota of {account.send_quota_daily} reached"
