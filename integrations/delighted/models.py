"""Models of the API layer: key-to-survey bindings, Delighted autopilot memberships, saved trends.

``IdempotencyRecord`` lives in ``accounts.models`` (the REST base in accounts/api.py uses it).
"""
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
    # The recurring schedule, held here (not in Celery): ``sends_scheduled`` invitations were created
    # so far (dedupe keys ``autopilot:<id>:0..n-1``); the beat cycle looks at the member again at
    # ``next_send_at`` (see services.schedule_due_autopilot_sends).
    sends_scheduled = models.PositiveIntegerField(default=0)
    next_send_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "survey", "platform", "created_at", "id"]),
                   models.Index(fields=["next_send_at"], name="autopilot_member_due")]
        constraints = [models.UniqueConstraint(fields=["survey", "platform", "person"],
                                               name="autopilot_membership_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.platform} autopilot of {self.survey_id}"


class Trend(models.Model):
    """A saved segment of responses (Delighted's "Trend"): the ``trend`` parameter of /v1/ lists and metrics.

    ``filters`` keys, all optional and combined with AND: ``properties`` (response properties that must
    all match), ``person_properties`` (the person's properties), ``tags`` (every tag present),
    ``score_min`` / ``score_max``, ``has_comment``. Validated by ``services.clean_trend_filters``.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="trends")
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "created_at", "id"])]

    def __str__(self) -> str:
        return self.name
