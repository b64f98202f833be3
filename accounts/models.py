"""Tenancy: Account (the tenant), Membership (user x account x role), ApiKey, and the event outbox."""
from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.events import Event  # noqa: F401  (the outbox model lives in events.py)
from accounts.scoping import TenantManager

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz or tz == "UTC")


class Account(models.Model):
    """The tenant. Everything a customer company owns hangs off one Account."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", choices=TIME_ZONE_CHOICES)
    default_locale = models.CharField(_("default language"), max_length=8, default="en",
                                      choices=settings.LANGUAGES)
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    sender_email = models.EmailField(_("sender address"), blank=True)
    brand_color = models.CharField(
        _("brand colour"), max_length=7, default="#3b5bdb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #3b5bdb."))],
    )
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    throttle_days = models.PositiveIntegerField(
        _("survey a person at most once every (days)"), default=30,
        help_text=_("Across all surveys and channels; checked when sending."),
    )
    link_expiry_days = models.PositiveIntegerField(_("survey links expire after (days)"), default=90)
    edit_window_days = models.PositiveIntegerField(_("answers stay editable for (days)"), default=30)
    headless_signals = models.BooleanField(
        _("flag headless-browser answers as suspected scanners"), default=False,
        help_text=_("Off by default: some real browsers look headless."),
    )
    sending_paused = models.BooleanField(_("sending paused"), default=False)
    # --- complaint-rate auto-pause (EM-8, surveys/services/complaints.py): why and when sending stopped ---
    sending_paused_at = models.DateTimeField(null=True, blank=True)
    sending_paused_reason = models.CharField(max_length=255, blank=True)
    sending_pause_alerted_at = models.DateTimeField(null=True, blank=True)  # the one alert went out
    sending_resumed_at = models.DateTimeField(null=True, blank=True)  # complaint window restarts here
    # --- end complaint-rate fields ---
    # --- send quotas (EM-28, surveys/services/quotas.py): emails per hour and day, recipients per request ---
    send_quota_hourly = models.PositiveIntegerField(
        _("emails per hour"), default=2000,
        help_text=_("Due invitations past this are skipped (status: over the send quota)."))
    send_quota_daily = models.PositiveIntegerField(_("emails per day"), default=10000)
    send_recipient_cap = models.PositiveIntegerField(
        _("recipients per request"), default=1000,
        help_text=_("The most people one send or API call may invite at once."))
    # --- end send quotas ---
    # --- web widget identity verification (responses/widget_identity.py): HMAC of the user id or email ---
    widget_secret = models.CharField(_("widget identity secret"), max_length=64, blank=True, editable=False)
    widget_require_verified = models.BooleanField(
        _("require a verified identity in the web widget"), default=False,
        help_text=_("The widget must then pass user_hash = HMAC-SHA256(secret, user id or email)."))
    # --- end web widget identity ---
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:dashboard", kwargs={"account": self.slug})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def from_email(self) -> str:
        address = self.sender_email or settings.DEFAULT_FROM_EMAIL
        return f"{self.sender_name} <{address}>" if self.sender_name and "<" not in address else address


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    """A user's role in one account. Queried by user (account switcher) or from the account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["account", "role"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.account} ({self.role})"

    def has_role(self, at_least: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(at_least)]

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage members, keys and integrations."""
        return self.has_role(Role.ADMIN)

    @property
    def can_edit(self) -> bool:
        """Members and above change surveys, people and responses; viewers only read."""
        return self.has_role(Role.MEMBER)


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (API keys, survey tokens). Never store the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """An API key: shown once at creation, stored as prefix + SHA-256 of the whole key."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=8, choices=ApiKeyScope.choices, default=ApiKeyScope.WRITE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new (prefix, full key). The key is ``vb_<prefix>_<secret>``: 8 + 32 random chars."""
        prefix = secrets.token_hex(4)
        return prefix, f"vb_{prefix}_{secrets.token_urlsafe(24)}"


class MemberInvite(models.Model):
    """An emailed invitation to join an account with a role. The token is stored hashed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="member_invites")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "accepted_at", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.account} ({self.role})"

    @property
    def is_usable(self) -> bool:
        """Not accepted yet and not expired."""
        return self.accepted_at is None and self.expires_at > timezone.now()


class IdempotencyRecord(models.Model):
    """The first result of a POST sent with an ``Idempotency-Key``: a retry gets it back, never a 2nd object.

    ``body`` is stored as replayed: fields shown only once (a webhook's signing secret) are redacted
    before it is saved, so the secret is neither kept at rest here nor returned a second time.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="idempotency_account_created")]
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
