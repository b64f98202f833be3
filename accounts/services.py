"""Account, membership and API-key writes."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Account, ApiKey, ApiKeyScope, MemberInvite, Membership, Role, hash_secret
from accounts.scoping import account_scope, cross_account

# Apps above accounts register what every new account needs (surveys: the default NPS survey),
# so accounts never imports them.
ACCOUNT_SETUP_HOOKS: list[Callable[[Account], None]] = []


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "account"
    slug, n = base, 1
    while Account.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def create_account(*, name: str, owner: AbstractBaseUser, time_zone: str = "UTC",
                   default_locale: str = "en") -> Account:
    """Create an account with its owner, and run the setup hooks (default survey...)."""
    if not name.strip():
        raise ValidationError({"name": _("Give the account a name.")})
    account = Account.objects.create(
        name=name.strip(), slug=unique_slug(name), time_zone=time_zone, default_locale=default_locale,
        sender_name=name.strip(),
    )
    Membership.objects.create(account=account, user=owner, role=Role.OWNER)
    for hook in ACCOUNT_SETUP_HOOKS:
        hook(account)
    return account


@transaction.atomic
def sign_up(*, company: str, email: str, password: str) -> tuple[AbstractBaseUser, Account]:
    """Self-service sign-up: a new user owning a new account (with its default survey)."""
    if get_user_model().objects.filter(username__iexact=email.strip()).exists():
        raise ValidationError({"email": _("An account already uses this email; log in instead.")})
    user = get_or_create_user(email=email, password=password)
    return user, create_account(name=company, owner=user)


def get_or_create_user(*, email: str, password: str | None = None) -> AbstractBaseUser:
    """The user with this email (user name = email), created if needed."""
    User = get_user_model()  # noqa: N806
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(username__iexact=email).first()
    if user is None:
        user = User.objects.create_user(username=email, email=email, password=password)
        if password is None:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    return user


def create_api_key(*, account: Account, name: str, scope: str = ApiKeyScope.WRITE,
                   by: AbstractBaseUser | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is shown once and never stored."""
    prefix, raw = ApiKey.generate()
    key = ApiKey.objects.create(account=account, name=name or _("API key"), prefix=prefix,
                                key_hash=hash_secret(raw), scope=scope, created_by=by)
    return key, raw


def revoke_api_key(*, api_key: ApiKey) -> None:
    """Revoke a key at once; revoking twice keeps the first revocation time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def change_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    """Change a member's role. Only owners make owners; the last owner cannot be demoted."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if (role == Role.OWNER or membership.role == Role.OWNER) and by.role != Role.OWNER:
        raise ValidationError({"role": _("Only an owner can grant or remove the owner role.")})
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.account) == 1:
        raise ValidationError({"role": _("An account needs at least one owner.")})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def remove_member(*, membership: Membership, by: Membership) -> None:
    """Remove a member from the account. Only owners remove owners; the last owner stays."""
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        raise ValidationError({"member": _("Only an owner can remove an owner.")})
    if membership.role == Role.OWNER and _owner_count(membership.account) == 1:
        raise ValidationError({"member": _("An account needs at least one owner.")})
    membership.delete()


def _owner_count(account: Account) -> int:
    return account.memberships.filter(role=Role.OWNER).count()


ACCOUNT_SETTINGS_FIELDS = (
    "name", "time_zone", "default_locale", "sender_name", "sender_email", "brand_color", "logo",
    "throttle_days", "link_expiry_days", "edit_window_days", "headless_signals",
    "send_quota_hourly", "send_quota_daily", "send_recipient_cap",  # EM-28 send quotas
)
OWNER_ONLY_SETTINGS = ("send_quota_hourly", "send_quota_daily", "send_recipient_cap")


def update_account_settings(*, account: Account, changes: dict[str, Any], by: Membership) -> Account:
    """Apply validated settings (from ``AccountSettingsForm``); unknown fields are refused, and only
    owners change the send quotas (they bound what a compromised admin login can send)."""
    unknown = set(changes) - set(ACCOUNT_SETTINGS_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This setting cannot be changed here.")})
    owner_only = sorted(set(changes) & set(OWNER_ONLY_SETTINGS))
    if owner_only and by.role != Role.OWNER:
        raise ValidationError({owner_only[0]: _("Only an owner can change the send quotas.")})
    if "name" in changes and not str(changes["name"]).strip():
        raise ValidationError({"name": _("Give the account a name.")})
    for field, value in changes.items():
        if field == "logo" and value is None:
            continue  # no new upload: keep the current logo
        setattr(account, field, "" if field == "logo" and value is False else value)  # False: "clear" ticked
    account.full_clean(exclude=["slug"])
    account.save(update_fields=list(changes))
    return account


INVITE_VALID_DAYS = 7


def invite_member(*, account: Account, email: str, role: str, by: Membership) -> tuple[MemberInvite, str]:
    """Invite a colleague by email with a role; returns the invite and its raw token (emailed, never stored).

    A new invitation to the same address replaces the pending one. Only owners invite owners.
    """
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if role == Role.OWNER and by.role != Role.OWNER:
        raise ValidationError({"role": _("Only an owner can grant or remove the owner role.")})
    email = get_user_model().objects.normalize_email(email).strip().lower()
    if account.memberships.filter(user__username__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member.")})
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        account.member_invites.filter(email__iexact=email, accepted_at__isnull=True).delete()
        invite = MemberInvite.objects.create(
            account=account, email=email, role=role, token_hash=hash_secret(raw), invited_by=by.user,
            expires_at=timezone.now() + timedelta(days=INVITE_VALID_DAYS),
        )
    return invite, raw


def invite_url(raw_token: str) -> str:
    return settings.SITE_URL + reverse("accounts:invite-accept", kwargs={"token": raw_token})


def send_invite_email(*, invite: MemberInvite, raw_token: str) -> None:
    """Email the invitation link (outside any transaction: SMTP is slow and may fail)."""
    context = {"invite": invite, "account": invite.account, "url": invite_url(raw_token),
               "inviter": invite.invited_by, "valid_days": INVITE_VALID_DAYS}
    subject = render_to_string("accounts/emails/invite_subject.txt", context).strip()
    body = render_to_string("accounts/emails/invite.txt", context)
    reply_to = [invite.invited_by.email] if invite.invited_by and invite.invited_by.email else []
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invite.email], reply_to=reply_to).send()


def invite_for_token(raw_token: str) -> MemberInvite | None:
    """The usable invite for a raw token (not accepted, not expired), or None."""
    # The token is the door: its hash names exactly one invite, whose account we do not know yet.
    with cross_account():
        invite = MemberInvite.objects.select_related("account").filter(token_hash=hash_secret(raw_token)).first()
    if invite is None or not invite.is_usable:
        return None
    return invite


def accept_invite(*, invite: MemberInvite, user: AbstractBaseUser) -> Membership:
    """Add the user to the invite's account with its role; the invite is then used up.

    A user who is already a member keeps their current role (an invitation never demotes).
    """
    with account_scope(invite.account), transaction.atomic():
        claimed = MemberInvite.objects.filter(pk=invite.pk, accepted_at__isnull=True,
                                              expires_at__gt=timezone.now()).update(
            accepted_at=timezone.now(), accepted_by=user)
        if claimed != 1:
            raise ValidationError({"token": _("This invitation has already been used or has expired.")})
        membership, _created = Membership.objects.get_or_create(
            account=invite.account, user=user, defaults={"role": invite.role})
    return membership


def accept_invite_as_new_user(*, invite: MemberInvite, password: str) -> tuple[AbstractBaseUser, Membership]:
    """Create the invited person's user with this password and accept the invite for them."""
    with transaction.atomic():
        if get_user_model().objects.filter(username__iexact=invite.email).exists():
            raise ValidationError({"email": _("An account already uses this email; log in instead.")})
        user = get_or_create_user(email=invite.email, password=password)
        membership = accept_invite(invite=invite, user=user)
    return user, membership


def revoke_invite(*, invite: MemberInvite) -> None:
    """Withdraw a pending invitation; its link stops working."""
    MemberInvite.objects.filter(pk=invite.pk, accepted_at__isnull=True).delete()
