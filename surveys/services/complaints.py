"""Complaint-rate auto-pause (EM-8): an account whose recipients report its mail as spam stops sending.

The rate is ``complained / delivered`` over a window (``COMPLAINT_WINDOW_DAYS``, default 30 days):
complaint suppressions recorded in the window over invitations sent in it. Above the threshold
(``COMPLAINT_RATE_THRESHOLD``, default 0.003 = 0.3 %) with at least ``COMPLAINT_MIN_SENDS`` (1,000)
sends, the account's sending is paused (the dispatcher then marks its due rows ``skipped_paused``),
the reason and time are recorded on the account, and one alert goes to its owners and the operator
(``OPERATOR_EMAIL``, else ``ADMINS``).

Evaluated after each new complaint commits (the anymail tracking webhook path, via
``suppress_address``) and daily by beat (``surveys.evaluate_complaint_rates``). Resuming restarts
the window, so an owner who resumed is not paused again by the same old complaints.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.events import emit_event
from accounts.models import Account, Membership, Role
from accounts.scoping import account_scope, cross_account
from surveys.models import Invitation, Suppression

logger = logging.getLogger("verbatim")


def _threshold() -> Decimal:
    return Decimal(str(getattr(settings, "COMPLAINT_RATE_THRESHOLD", "0.003")))


def _min_sends() -> int:
    return int(getattr(settings, "COMPLAINT_MIN_SENDS", 1000))


def _window() -> timedelta:
    return timedelta(days=int(getattr(settings, "COMPLAINT_WINDOW_DAYS", 30)))


@dataclass(frozen=True)
class ComplaintRate:
    complained: int
    delivered: int
    since: datetime

    @property
    def rate(self) -> Decimal:
        return Decimal(self.complained) / Decimal(self.delivered) if self.delivered else Decimal(0)

    @property
    def over_threshold(self) -> bool:
        """Strictly above the threshold, and only once enough mail went out for the rate to mean something."""
        return self.delivered >= _min_sends() and self.rate > _threshold()

    @property
    def percent(self) -> str:
        return f"{self.rate * 100:.2f}%"


def complaint_rate(*, account: Account, now: datetime | None = None) -> ComplaintRate:
    """Complaints over sent invitations in the window (which restarts when an owner resumes sending)."""
    now = now or timezone.now()
    since = now - _window()
    if account.sending_resumed_at and account.sending_resumed_at > since:
        since = account.sending_resumed_at
    with account_scope(account):
        delivered = account.invitations.filter(status=Invitation.Status.SENT, sent_at__gte=since).count()
        complained = account.suppressions.filter(reason=Suppression.Reason.COMPLAINED, created_at__gte=since).count()
    return ComplaintRate(complained=complained, delivered=delivered, since=since)


def owner_addresses(account: Account) -> list[str]:
    return sorted({m.user.email for m in Membership.objects.filter(account=account, role=Role.OWNER)
                   .select_related("user") if m.user.email})


def operator_addresses() -> list[str]:
    operator = getattr(settings, "OPERATOR_EMAIL", "")
    if operator:
        return [operator] if isinstance(operator, str) else list(operator)
    return [email for _name, email in getattr(settings, "ADMINS", [])]


def evaluate_complaint_rate(*, account: Account, now: datetime | None = None) -> bool:
    """Pause the account's sending if its complaint rate is over the threshold; True when this call paused it.

    The pause is a conditional UPDATE (``sending_paused`` false -> true), so concurrent complaint events
    pause once and alert once. The alert is sent after the commit (no network inside a transaction).
    """
    now = now or timezone.now()
    account.refresh_from_db()
    if account.sending_paused:
        return False
    rate = complaint_rate(account=account, now=now)
    if not rate.over_threshold:
        return False
    reason = _("Complaint rate %(percent)s (%(complained)d complaints / %(delivered)d sent since %(since)s) "
               "is above %(limit)s.") % {
        "percent": rate.percent, "complained": rate.complained, "delivered": rate.delivered,
        "since": rate.since.date().isoformat(), "limit": f"{_threshold() * 100:.2f}%"}
    with transaction.atomic():
        paused = Account.objects.filter(pk=account.pk, sending_paused=False).update(
            sending_paused=True, sending_paused_at=now, sending_paused_reason=reason[:255],
            sending_pause_alerted_at=None)
        if not paused:
            return False
        with account_scope(account):
            emit_event(account, "account.sending_paused", {
                "reason": "complaint_rate", "complained": rate.complained, "delivered": rate.delivered,
                "rate": str(rate.rate)})
    logger.warning("account %s: sending paused automatically: %s", account.pk, reason)
    send_pause_alert(account_id=account.pk)
    return True


def send_pause_alert(*, account_id: int) -> bool:
    """One email to the owners and the operator about an automatic pause; claimed, so sent at most once.

    A failed send releases the claim and the daily evaluation tries again.
    """
    now = timezone.now()
    if not Account.objects.filter(pk=account_id, sending_paused=True, sending_pause_alerted_at__isnull=True).exclude(
            sending_paused_reason="").update(sending_pause_alerted_at=now):
        return False
    account = Account.objects.get(pk=account_id)
    to = sorted(set(owner_addresses(account)) | set(operator_addresses()))
    if not to:
        logger.error("account %s: sending paused but nobody to alert (no owner email, no OPERATOR_EMAIL)", account.pk)
        return False
    url = settings.SITE_URL + reverse("accounts:settings", kwargs={"account": account.slug})
    body = "\n".join([
        _("Verbatim paused email sending for %(account)s.") % {"account": account.name}, "",
        account.sending_paused_reason, "",
        _("Recipients reported too many of this account's emails as spam. Mailbox providers block senders "
          "whose complaint rate stays high, so no survey email goes out until an owner resumes sending."), "",
        _("Check who is being surveyed (imported lists, consent, frequency), then resume here:"), url,
    ])
    try:
        EmailMessage(subject=_("Sending paused for %(account)s: complaint rate too high") % {"account": account.name},
                     body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to).send()
    except (SMTPException, OSError):
        Account.objects.filter(pk=account_id, sending_pause_alerted_at=now).update(sending_pause_alerted_at=None)
        logger.warning("account %s: pause alert could not be sent; retried daily", account_id, exc_info=True)
        return False
    return True


def complaint_recorded(*, account_id: int) -> None:
    """A complaint suppression was committed: evaluate the account now. Never raises (webhook path)."""
    try:
        evaluate_complaint_rate(account=Account.objects.get(pk=account_id))
    except Exception:  # the suppression is stored; the daily evaluation catches up
        logger.exception("account %s: complaint rate could not be evaluated", account_id)


@transaction.atomic
def resume_sending(*, account: Account, by: object = None) -> Account:
    """An owner resumes sending: clear the pause and restart the complaint window from now."""
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(
        sending_paused=False, sending_paused_at=None, sending_paused_reason="", sending_pause_alerted_at=None,
        sending_resumed_at=now)
    account.refresh_from_db()
    with account_scope(account):
        emit_event(account, "account.sending_resumed", {"by": getattr(by, "pk", None)})
    return account


def evaluate_all_complaint_rates(*, now: datetime | None = None) -> int:
    """Daily: evaluate every account that sent in the window; retry pause alerts that failed. Returns pauses."""
    now = now or timezone.now()
    with cross_account():  # the daily sweep looks at every account; each evaluation then runs in its scope
        active = set(Invitation.objects.filter(status=Invitation.Status.SENT, sent_at__gte=now - _window())
                     .values_list("account_id", flat=True).distinct())
    paused = 0
    for account in Account.objects.filter(pk__in=active, sending_paused=False):
        paused += evaluate_complaint_rate(account=account, now=now)
    for account_id in Account.objects.filter(Q(sending_paused=True), ~Q(sending_paused_reason=""),
                                             sending_pause_alerted_at__isnull=True).values_list("pk", flat=True):
        send_pause_alert(account_id=account_id)
    return paused


@shared_task(name="surveys.evaluate_complaint_rates")
def evaluate_complaint_rates() -> int:
    """Beat, daily: the complaint-rate check of every sending account (EM-8)."""
    return evaluate_all_complaint_rates()
