"""Models of the API layer: key-to-survey bindings, Delighted autopilot memberships, idempotency keys."""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, ApiKey
from accounts.scoping import TenantManager
from surveys.models import Person, Survey


class SurveyBinding(models.Model):
    """Binds an API key to one survey: the Delighted "project" of that key (default: the default survey)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="survey_bindings")
    api_key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, related_name="survey_binding")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="api_bindings")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "survey"])]

    def __str__(self) -> str:
        return f"{self.api_key_id} -> {self.survey_id}"


class AutopilotMembership(models.Model):
    """A person enrolled in a survey's autopilot on one platform (Delighted /v1/autopilot/<platform>)."""

    class Platform(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="autopilot_memberships")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="autopilot_memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="autopilot_memberships")
    platform = models.CharField(max_length=8, choices=Platform.choices)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "survey", "platform", "created_at", "id"])]
        constraints = [models.UniqueConstraint(fields=["survey", "platform", "person"],
                                               name="autopilot_membership_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.platform} autopilot of {self.survey_id}"


class IdempotencyRecord(models.Model):
    """The first result of a POST sent with an ``Idempotency-Key``: a retry gets it back, never a 2nd object."""

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
        indexes = [models.Index(fields=["account", "created_at"])]
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
