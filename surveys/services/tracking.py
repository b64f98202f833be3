"""anymail tracking events (bounces, complaints, unsubscribes, deliveries) -> suppressions and statuses.

Routed by the message's metadata (account and invitation ids), then by the stored ESP message id;
never by recipient alone (EM-13). Idempotent: a repeated event changes nothing (EM-14). Never raises
for unknown data: anymail would answer 400 and the ESP would retry forever.
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.events import emit_event
from accounts.scoping import account_scope, cross_account
from surveys.models import Invitation, Suppression
from surveys.services.suppressions import cancel_pending_invitations, suppress_address

logger = logging.getLogger("verbatim")

HARD_BOUNCE_REASONS = {"bounced", "invalid", None}
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError"}


def find_invitation(*, metadata: dict[str, Any] | None, message_id: str | None) -> Invitation | None:
    """The invitation an ESP event is about: metadata first, then the message id. None if unmatched."""
    metadata = metadata or {}
    with cross_account():  # the webhook is platform-wide (F9): route to the tenant here, then scope
        try:
            account_id, invitation_id = int(metadata["account_id"]), int(metadata["invitation_id"])
        except (KeyError, TypeError, ValueError):
            account_id = invitation_id = None
        if invitation_id:
            found = (Invitation.objects.select_related("account", "person")
                     .filter(pk=invitation_id, account_id=account_id).first())
            if found:
                return found
        if message_id:
            candidates = {message_id, message_id.strip("<>")}
            return (Invitation.objects.select_related("account", "person")
                    .filter(esp_message_id__in=candidates).order_by("-pk").first())
    return None


def handle_tracking_event(*, event: Any, esp_name: str = "") -> str:
    """Apply one normalized anymail tracking event; returns what was done (for logs and tests)."""
    invitation = find_invitation(metadata=getattr(event, "metadata", None),
                                 message_id=getattr(event, "message_id", None))
    kind, reason = event.event_type, getattr(event, "reject_reason", None)
    if invitation is None:
        logger.info("unmatched %s tracking event %s (%s) from %s", kind, getattr(event, "event_id", None),
                    getattr(event, "message_id", None), esp_name)
        return "unmatched"
    raw = getattr(event, "esp_event", None)
    if kind == "bounced" and isinstance(raw, dict) and raw.get("Type") in SOFT_BOUNCE_TYPES:
        kind = "deferred"  # anymail maps Postmark's soft bounces to "bounced": not a dead address
    account = invitation.account
    email = (getattr(event, "recipient", None) or invitation.person.email or "").strip().lower()
    with account_scope(account), transaction.atomic():
        if kind == "bounced" and reason in HARD_BOUNCE_REASONS or kind == "rejected" and reason == "bounced":
            # A hard bounce: the address does not exist, so it is suppressed for every account (D2).
            suppress_address(account=account, email=email, reason=Suppression.Reason.BOUNCED, source=esp_name)
            changed = Invitation.objects.filter(pk=invitation.pk).exclude(
                status=Invitation.Status.FAILED, failure_reason__startswith="bounced").update(
                status=Invitation.Status.FAILED, failure_reason=f"bounced: {event.description or reason or ''}"[:255])
            if changed:
                emit_event(account, "invitation.bounced", {"invitation_id": invitation.pk,
                                                           "person_id": invitation.person_id, "email": email})
            cancel_pending_invitations(person=invitation.person)
            return "bounced"
        if kind == "complained" or kind == "rejected" and reason == "spam":
            suppress_address(account=account, email=email, reason=Suppression.Reason.COMPLAINED, source=esp_name)
            cancel_pending_invitations(person=invitation.person)
            return "complained"
        if kind == "unsubscribed" or kind == "rejected" and reason == "unsubscribed":
            suppress_address(account=account, email=email, reason=Suppression.Reason.UNSUBSCRIBED, source=esp_name)
            cancel_pending_invitations(person=invitation.person)
            return "unsubscribed"
        when = getattr(event, "timestamp", None) or timezone.now()
        if kind == "delivered":
            Invitation.objects.filter(pk=invitation.pk, delivered_at__isnull=True).update(delivered_at=when)
            return "delivered"
        if kind in ("opened", "clicked"):
            Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=when)
            return "opened"
    return "ignored"
