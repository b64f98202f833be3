"""Models of integrations: where events go (webhooks, Slack, Zapier, alerts) and what happened (deliveries)."""
from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from accounts.scoping import TenantManager

# Event kinds a subscription can choose; "ping" is the test-send event.
EVENT_KINDS = ["response.created", "response.updated", "person.unsubscribed", "invitation.bounced", "case.created"]


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Filters(models.Model):
    """Abstract: the response filters shared by webhooks, Slack, Zapier and alert rules.

    ``filters`` holds ``{"survey_ids": [..], "score_groups": [..], "has_comment": bool,
    "property_key": str, "property_value": str, "max_score": int, "comment_contains": str}``;
    every key is optional and an empty dict matches every response.
    """

    filters = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class Target(Filters):
    """Abstract: a destination that can be disabled after failing for long (D6)."""

    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class WebhookEndpoint(Target):
    """A URL receiving signed JSON events (Standard Webhooks, or Delighted's format)."""

    class Format(models.TextChoices):
        STANDARD = "standard", _("Standard Webhooks (Verbatim events)")
        DELIGHTED = "delighted", _("Delighted-compatible")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=2048)
    description = models.CharField(_("description"), max_length=200, blank=True)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.STANDARD)
    events = models.JSONField(default=list, blank=True)  # empty: every event
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The ``sequence`` of the last delivery made for this endpoint: bumped at fan-out, in the same
    # transaction as the Delivery rows, under this row's lock (so gapless and in commit order). Other
    # writes to an endpoint must name their fields (update_fields): a stale full save() would set it back.
    last_sequence = models.PositiveBigIntegerField(default=0)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "is_active"])]

    def __str__(self) -> str:
        return self.description or self.url

    def secrets_at(self, now) -> list[str]:  # noqa: ANN001
        """The secrets that sign a delivery now: the current one, plus the old one during rotation."""
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class SlackIntegration(Target):
    """A Slack channel reached by an incoming-webhook URL (a secret: shown masked)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="slack_integrations")
    name = models.CharField(_("name"), max_length=100)
    webhook_url = models.URLField(_("incoming webhook URL"), max_length=2048)
    next_slot_at = models.DateTimeField(null=True, blank=True)  # pacing: about 1 message/s per URL

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_url(self) -> str:
        return self.webhook_url[:30] + "…" + self.webhook_url[-4:] if len(self.webhook_url) > 34 else "…"


class ZapierSubscription(Filters):
    """A Zapier REST hook: one per active Zap, created and removed by Zapier through the API."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="zapier_subscriptions")
    target_url = models.URLField(max_length=2048)
    event = models.CharField(max_length=64)
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "event"])]
        constraints = [models.UniqueConstraint(fields=["account", "target_url", "event"],
                                               name="zapier_subscription_unique")]

    def __str__(self) -> str:
        return f"{self.event} -> Zapier"


class AlertRule(Filters):
    """Who hears at once about a matching response, and how (email and/or Slack)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(default=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    emails = models.JSONField(default=list, blank=True)
    routing_property = models.CharField(_("routing property"), max_length=64, blank=True)
    send_email = models.BooleanField(_("send email"), default=True)
    slack = models.ForeignKey(SlackIntegration, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="alert_rules", verbose_name=_("post to Slack"))
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "is_active"])]

    def __str__(self) -> str:
        return self.name


class AlertRoute(models.Model):
    """A row of the routing table: responses whose property equals a value alert this address."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_routes")
    property_name = models.CharField(_("property"), max_length=64)
    property_value = models.CharField(_("value"), max_length=255)
    email = models.EmailField(_("email"))

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "property_name", "property_value"])]
        constraints = [models.UniqueConstraint(fields=["account", "property_name", "property_value", "email"],
                                               name="alert_route_unique")]

    def __str__(self) -> str:
        return f"{self.property_name}={self.property_value} -> {self.email}"


class Delivery(models.Model):
    """One message to one destination (an event to an endpoint, a Slack post, an alert email).

    Its schedule is ``next_attempt_at``, read by the sweeper: never a Celery countdown (F3).
    """

    class Channel(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook")
        SLACK = "slack", _("Slack")
        ZAPIER = "zapier", _("Zapier")
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")  # gave up, or the destination is gone

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("accounts.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="deliveries")
    slack = models.ForeignKey(SlackIntegration, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="deliveries")
    zapier = models.ForeignKey(ZapierSubscription, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="deliveries")
    alert_rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient = models.CharField(max_length=254, blank=True)  # email address, for alert emails
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=80)  # webhook-id: the same on every attempt
    sequence = models.PositiveBigIntegerField(null=True, blank=True)  # per endpoint (webhooks only)
    dedupe_key = models.CharField(max_length=120, unique=True)
    body = models.TextField()  # serialized once; every attempt sends exactly these bytes
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["status", "next_attempt_at"], condition=Q(status__in=["pending", "sending"]),
                         name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} via {self.channel} #{self.pk}"

    @property
    def target_label(self) -> str:
        if self.endpoint_id:
            return str(self.endpoint)
        if self.slack_id:
            return f"Slack: {self.slack}"
        if self.channel == self.Channel.ZAPIER:
            return "Zapier"
        return self.recipient


class DeliveryAttempt(models.Model):
    """One HTTP (or SMTP) attempt of a delivery: the log admins read. Never holds a secret."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="delivery_attempts")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=255, blank=True)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "delivery", "number"])]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
