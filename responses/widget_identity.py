"""Identity verification for the web widget (like Intercom's): the customer's server signs the user.

Each account may have a widget secret. The customer's backend computes
``user_hash = hex(HMAC-SHA256(secret, user id))`` (the email when the snippet passes no user id) and puts
it in the snippet; ``/w/<public id>/config`` checks it in constant time. When the account requires a
verified identity, a config request without a correct hash is refused and no nonce is issued, so nobody
can answer or dismiss as a user whose page they do not serve. The nonce records whether the identity was
verified, and the answer and dismiss endpoints refuse an unverified nonce while the requirement is on
(a nonce issued before it was switched on stays useless).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Account

SECRET_BYTES = 32  # 64 hex characters: Account.widget_secret's max_length


class WidgetIdentityRejected(ValidationError):
    """A widget request whose identity the account requires verified and that is not (400 or 403)."""

    def __init__(self, message: str, *, status: int, field: str = "user_hash") -> None:
        self.status = status
        super().__init__({field: message})


def user_hash_for(*, secret: str, identity: str) -> str:
    """What the customer's server computes: hex HMAC-SHA256 of the user id (or email) under the secret."""
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


def verify_widget_identity(*, account: Account, email: str | None, user_id: str | None,
                           user_hash: str | None) -> bool:
    """Whether the widget's identity is verified; raise ``WidgetIdentityRejected`` when the account
    requires it and the hash is missing (400) or wrong (403). The hash covers the user id when one is
    passed, else the email. Without the requirement a wrong hash is not an error, just unverified."""
    identity = user_id or email or ""
    provided = (user_hash or "").strip().lower()
    verified = bool(account.widget_secret and identity and provided) and hmac.compare_digest(
        user_hash_for(secret=account.widget_secret, identity=identity).encode(), provided.encode())
    if verified or not account.widget_require_verified:
        return verified
    if not identity:
        raise WidgetIdentityRejected(_("This survey requires a verified user: pass user_id or email and user_hash."),
                                     status=400)
    if not provided:
        raise WidgetIdentityRejected(_("This survey requires user_hash, the HMAC-SHA256 of the user id "
                                       "(or email) under the account's widget secret."), status=400)
    raise WidgetIdentityRejected(_("user_hash does not match this user."), status=403)


def check_nonce_verified(*, account: Account, identity: dict) -> None:
    """Refuse a widget nonce issued for an unverified identity while the account requires verification."""
    if account.widget_require_verified and not identity.get("v"):
        raise WidgetIdentityRejected(_("This survey requires a verified user; reload the page."), status=403)


def regenerate_widget_secret(*, account: Account) -> str:
    """A new widget secret for the account (the old one stops verifying at once); returns it."""
    account.widget_secret = secrets.token_hex(SECRET_BYTES)
    account.save(update_fields=["widget_secret"])
    return account.widget_secret


def set_widget_verification(*, account: Account, required: bool) -> Account:
    """Turn "require a verified identity" on or off; on needs a secret to verify against."""
    if required and not account.widget_secret:
        raise ValidationError({"widget_require_verified": _("Generate a widget secret first.")})
    account.widget_require_verified = required
    account.save(update_fields=["widget_require_verified"])
    return account
