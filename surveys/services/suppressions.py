"""Suppressions (never email this address again), cancellation and GDPR erasure of people.

A new complaint suppression triggers the complaint-rate check (EM-8, ``complaints.py``) after commit.
"""
from __future__ import annotations

import functools
import logging

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.events import emit_event
from accounts.models import Account, hash_secret
from accounts.scoping import cross_account
from surveys.models import Invitation, Person, Suppression
from surveys.services.complaints import complaint_recorded

logger = logging.getLogger("verbatim")

UNSUBSCRIBE_SALT = "verbatim.unsubscribe"
HASHED_PREFIX = "sha256:"
PENDING_STATUSES = (Invitation.Status.SCHEDULED,)


def hashed_email(email: str) -> str:
    """The form an address keeps in the suppression list after its person is erased (GD-1)."""
    return HASHED_PREFIX + hash_secret(email.strip().lower())


def _forms(email: str) -> list[str]:
    email = email.strip().lower()
    return [email, hashed_email(email)]


def is_suppressed(*, account: Account, email: str) -> bool:
    """True when this account must not email the address: its own suppressions, or a hard bounce anywhere (D2)."""
    if not email:
        return False
    forms = _forms(email)
    if Suppression.objects.filter(account=account, email__in=forms).exists():
        return True
    # A hard bounce means the address does not exist: it counts for every account (decision D2).
    with cross_account():
        return Suppression.objects.filter(reason=Suppression.Reason.BOUNCED, email__in=forms).exists()


def suppression_reason(*, account: Account, email: str) -> Suppression | None:
    """The suppression that stops this account emailing the address, if any (shown to admins)."""
    if not email:
        return None
    forms = _forms(email)
    row = Suppression.objects.filter(account=account, email__in=forms).order_by("created_at").first()
    if row is None:
        with cross_account():  # platform-wide hard bounces (D2)
            row = Suppression.objects.filter(reason=Suppression.Reason.BOUNCED, email__in=forms).first()
    return row


def suppress_address(*, account: Account, email: str, reason: str, source: str = "") -> Suppression:
    """Suppress an address for this account; idempotent (the existing row is returned).

    An unsubscribe emits ``person.unsubscribed`` once, when the row is first written.
    """
    if reason not in Suppression.Reason.values:
        raise ValidationError({"reason": _("Unknown suppression reason.")})
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError({"email": _("An email address is required.")})
    # An erased person's suppression survives only as a hash: reuse it rather than storing the address again.
    existing = Suppression.objects.filter(account=account, email__in=_forms(email), reason=reason).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            row = Suppression.objects.create(account=account, email=email, reason=reason, source=source[:64])
            if reason == Suppression.Reason.UNSUBSCRIBED:
                person = account.people.filter(email=email).first()
                emit_event(account, "person.unsubscribed",
                           {"email": email, "person_id": person.pk if person else None, "source": source[:64]})
            if reason == Suppression.Reason.COMPLAINED:
                # EM-8: a new complaint may push the account over its complaint rate; check once it commits.
                transaction.on_commit(functools.partial(complaint_recorded, account_id=account.pk))
            return row
    except IntegrityError:  # a concurrent request wrote it first
        return Suppression.objects.get(account=account, email=email, reason=reason)


def cancel_pending_invitations(*, person: Person | None = None, survey=None) -> int:
    """Cancel the scheduled (not yet claimed) invitations of a person and/or a survey; returns the count."""
    if person is None and survey is None:
        raise ValueError("cancel_pending_invitations() needs a person or a survey.")
    rows = Invitation.objects.filter(status__in=PENDING_STATUSES)
    if person is not None:
        rows = rows.filter(account_id=person.account_id, person=person)
    if survey is not None:
        rows = rows.filter(account_id=survey.account_id, survey=survey)
    return rows.update(status=Invitation.Status.CANCELLED, failure_reason="cancelled")


@transaction.atomic
def erase_person(*, person: Person) -> None:
    """GDPR erasure: the person, their invitations, responses and answers go (cascades).

    Suppressions of their address stay, but only as ``sha256:<hash>`` so an unsubscribe survives
    erasure and a re-import of the same address is still suppressed (GD-1). Rollup counts stay.
    """
    account = person.account
    if person.email:
        email = person.email.strip().lower()
        for row in Suppression.objects.filter(account=account, email=email):
            hashed = hashed_email(email)
            if Suppression.objects.filter(account=account, email=hashed, reason=row.reason).exists():
                row.delete()
            else:
                Suppression.objects.filter(pk=row.pk).update(email=hashed, source="erased")
    # Outbox events that name the person keep their kind and ids but lose the personal data.
    from accounts.events import Event

    named = Q(payload__person_id=person.pk)
    if person.email:
        named |= Q(payload__email=person.email)
    Event.objects.filter(named, account=account).update(payload={"person_id": person.pk, "erased": True})
    emit_event(account, "person.erased", {"person_id": person.pk})
    person.delete()


def unsubscribe_token(*, account_id: int, person_id: int) -> str:
    """A signed, opaque token naming (account, person): no address in it (EM-2)."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"a": account_id, "p": person_id})


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    """(account id, person id) of a valid token, else None."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
        return int(data["a"]), int(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def unsubscribe_person(*, person: Person, source: str = "one-click") -> Suppression | None:
    """The person clicked unsubscribe: suppress their address in this account and cancel what is pending."""
    if not person.email:
        return None
    with transaction.atomic():
        row = suppress_address(account=person.account, email=person.email,
                               reason=Suppression.Reason.UNSUBSCRIBED, source=source)
        cancel_pending_invitations(person=person)
    return row

