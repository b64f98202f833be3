"""Account, membership and API-key writes."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Account, ApiKey, ApiKeyScope, Membership, Role, hash_secret

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
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        raise ValidationError({"member": _("Only an owner can remove an owner.")})
    if membership.role == Role.OWNER and _owner_count(membership.account) == 1:
        raise ValidationError({"member": _("An account needs at least one owner.")})
    membership.delete()


def _owner_count(account: Account) -> int:
    return account.memberships.filter(role=Role.OWNER).count()
