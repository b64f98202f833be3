"""Surveys, extra questions, people, suppressions and invitations (the outbox of sends)."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from accounts.scoping import TenantManager


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0-10)")
    CES = "ces", _("Customer Effort Score (1-7)")
    CSAT = "csat", _("Customer satisfaction (1-5)")
    FIVE_STAR = "five_star", _("5-star rating")
    CUSTOM = "custom", _("Custom scale")


# (min, max) of each kind's score scale; custom surveys set their own.
KIND_SCALES = {
    SurveyKind.NPS: (0, 10),
    SurveyKind.CES: (1, 7),
    SurveyKind.CSAT: (1, 5),
    SurveyKind.FIVE_STAR: (1, 5),
}


class ScoreGroup(models.TextChoices):
    PROMOTER = "promoter", _("Promoters")
    PASSIVE = "passive", _("Passives")
    DETRACTOR = "detractor", _("Detractors")


def score_group(kind: str, score: int, scale_min: int = 0, scale_max: int = 10) -> str:
    """Promoter / passive / detractor for a score of a survey kind.

    NPS: 9-10 / 7-8 / 0-6. CES (1-7): 5-7 easy / 4 / 1-3. CSAT and 5-star (1-5): 4-5 / 3 / 1-2.
    Custom scales: top fifth / middle / bottom half, like NPS proportions.
    """
    if kind == SurveyKind.NPS:
        return ScoreGroup.PROMOTER if score >= 9 else ScoreGroup.PASSIVE if score >= 7 else ScoreGroup.DETRACTOR
    if kind == SurveyKind.CES:
        return ScoreGroup.PROMOTER if score >= 5 else ScoreGroup.PASSIVE if score == 4 else ScoreGroup.DETRACTOR
    if kind in (SurveyKind.CSAT, SurveyKind.FIVE_STAR):
        return ScoreGroup.PROMOTER if score >= 4 else ScoreGroup.PASSIVE if score == 3 else ScoreGroup.DETRACTOR
    span = max(scale_max - scale_min, 1)
    position = (score - scale_min) / span
    return ScoreGroup.PROMOTER if position >= 0.8 else ScoreGroup.PASSIVE if position >= 0.6 else ScoreGroup.DETRACTOR


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


class Survey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="surveys")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=SurveyKind.choices, default=SurveyKind.NPS)
    question = models.CharField(
        _("question"), max_length=500,
        help_text=_("Placeholders such as {{product_name}} are filled from the person's properties."),
    )
    scale_min = models.SmallIntegerField(default=0)
    scale_max = models.SmallIntegerField(default=10)
    low_label = models.CharField(_("label of the lowest score"), max_length=80, blank=True)
    high_label = models.CharField(_("label of the highest score"), max_length=80, blank=True)
    locale = models.CharField(_("language"), max_length=8, default="en")
    placeholder_defaults = models.JSONField(
        _("placeholder fallback values"), default=dict, blank=True,
        help_text=_('Values used when a person has no such property, e.g. {"product_name": "our app"}.'),
    )
    email_subject = models.CharField(_("email subject"), max_length=200, blank=True)
    email_intro = models.TextField(_("email introduction"), blank=True)
    thank_you = models.JSONField(
        _("thank-you content per score group"), default=dict, blank=True,
        help_text=_('{"promoter": {"message": "...", "link_text": "...", "link_url": "..."}, ...}'),
    )
    redirect_url = models.URLField(_("redirect after the thank-you page"), blank=True)
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_default = models.BooleanField(
        default=False, help_text=_("The survey the Delighted-compatible API schedules by default."))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(is_default=True), name="one_default_survey"),
            models.CheckConstraint(condition=Q(scale_min__lt=models.F("scale_max")), name="survey_scale_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("surveys:survey-detail", kwargs={"account": self.account.slug, "pk": self.pk})

    @property
    def scores(self) -> range:
        return range(self.scale_min, self.scale_max + 1)

    def group_of(self, score: int) -> str:
        return score_group(self.kind, score, self.scale_min, self.scale_max)


class Question(models.Model):
    """An extra question shown after the score, optionally only to one score group."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TEXT = "text", _("Free text")
        SCALE = "scale", _("Scale")
        YES_NO = "yes_no", _("Yes / no")
        NAME = "name", _("Ask for name")
        EMAIL = "email", _("Ask for email")

    class ShowTo(models.TextChoices):
        ALL = "all", _("Everyone")
        PROMOTER = "promoter", _("Promoters")
        PASSIVE = "passive", _("Passives")
        DETRACTOR = "detractor", _("Detractors")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="questions")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=500)
    choices = models.JSONField(default=list, blank=True)
    allow_other = models.BooleanField(_('offer "other" with free text'), default=False)
    required = models.BooleanField(default=False)
    show_to = models.CharField(max_length=10, choices=ShowTo.choices, default=ShowTo.ALL)
    is_resolution = models.BooleanField(
        default=False, help_text=_('A yes/no "Was your issue resolved?" that feeds the resolution rate.'))
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)

    objects = TenantManager()

    class Meta:
        ordering = ["survey", "position", "pk"]
        indexes = [models.Index(fields=["account", "survey", "position"])]

    def __str__(self) -> str:
        return self.text

    def shown_to(self, group: str) -> bool:
        return self.show_to == self.ShowTo.ALL or self.show_to == group


class Person(models.Model):
    # No index of its own: (account, created_at, id) leads with it (one index entry less per new person).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="people", db_index=False)
    email = models.EmailField(_("email"), max_length=254, null=True, blank=True)
    phone_number = models.CharField(_("phone number"), max_length=16, null=True, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    last_surveyed_at = models.DateTimeField(null=True, blank=True)
    last_responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "people"
        indexes = [models.Index(fields=["account", "created_at", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], condition=Q(email__isnull=False),
                                    name="person_unique_email"),
            models.UniqueConstraint(fields=["account", "phone_number"], condition=Q(phone_number__isnull=False),
                                    name="person_unique_phone"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone_number or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("surveys:person-detail", kwargs={"account": self.account.slug, "pk": self.pk})


class Suppression(models.Model):
    """An address this account never emails again (unsubscribed, complained, bounced, manual)."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        COMPLAINED = "complained", _("Complained (spam report)")
        BOUNCED = "bounced", _("Hard bounce")
        MANUAL = "manual", _("Added by an admin")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="suppressions")
    email = models.CharField(max_length=254, help_text=_("Lower-cased address."))
    reason = models.CharField(max_length=14, choices=Reason.choices)
    source = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "email", "reason"], name="suppression_unique")]
        indexes = [
            models.Index(fields=["account", "email"]),
            # hard bounces apply to every account (D2): looked up by address alone
            models.Index(fields=["email"], condition=Q(reason="bounced"), name="suppression_bounce_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    LINK = "link", _("Link")
    WIDGET = "widget", _("Web widget")
    API = "api", _("API")
    IMPORT = "import", _("Import")


class Invitation(models.Model):
    """The outbox row of one send. The dispatcher claims due rows; tasks claim one at a time."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (interrupted while sending)")
        SKIPPED_THROTTLED = "skipped_throttled", _("Skipped: surveyed recently")
        SKIPPED_SUPPRESSED = "skipped_suppressed", _("Skipped: suppressed address")
        SKIPPED_PAUSED = "skipped_paused", _("Skipped: sending paused")
        SKIPPED_QUOTA = "skipped_quota", _("Skipped: over the send quota")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of its own: every index below leads with the account (each index is one more entry
    # written per row version, and a row is written three times on its way out: docs/performance.md).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="invitations")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    properties = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    dedupe_key = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, null=True, blank=True)  # unique: Meta.constraints
    token_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_id = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)  # indexed: Meta.indexes
    failure_reason = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-scheduled_at"]
        indexes = [
            models.Index(fields=["account", "status", "scheduled_at"]),
            # The dispatcher's "which accounts have due rows": only scheduled rows have an entry.
            models.Index(fields=["scheduled_at"], name="invitation_due", condition=Q(status="scheduled")),
            # Exact lookups only (tracking webhooks, the respondent door): declared here rather than
            # on the fields, which on PostgreSQL would add a second, pattern-ops (LIKE) index each.
            models.Index(fields=["esp_message_id"], name="invitation_esp_message_id"),
            models.Index(fields=["account", "person", "status"]),
            models.Index(fields=["account", "sent_at"], name="invitation_account_sent"),  # send quotas
        ]
        constraints = [
            # Only rows with a token (minted when marked ``sending``) have an entry.
            models.UniqueConstraint(fields=["token_hash"], condition=Q(token_hash__isnull=False),
                                    name="invitation_token_hash_unique"),
            models.UniqueConstraint(fields=["account", "survey", "person", "dedupe_key"],
                                    condition=~Q(dedupe_key=""), name="invitation_dedupe"),
        ]

    def __str__(self) -> str:
        return f"Invitation #{self.pk} ({self.status})"


class PersonImport(models.Model):
    """A CSV import job: the uploaded file, the column mapping, progress and the bad rows."""

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Waiting for the column mapping")
        PENDING = "pending", _("Waiting to start")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="person_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    file = models.FileField(upload_to="imports/")
    filename = models.CharField(max_length=255, blank=True)
    mapping = models.JSONField(default=dict, blank=True,
                               help_text=_('CSV column -> "email", "name", "phone_number", "property:<name>" or "".'))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text=_("[{line, reason}] of the rows left out."))
    error_count = models.PositiveIntegerField(default=0)
    send_survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    send_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "created_at"]), models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.filename or f"Import #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("surveys:personimport-detail", kwargs={"account": self.account.slug, "pk": self.pk})

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.processed_rows / max(self.total_rows, 1))


class Autopilot(models.Model):
    """A recurring send: every person matching ``property_filter`` gets the survey every N days."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="autopilots")
    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="autopilot")
    enabled = models.BooleanField(_("on"), default=True)
    every_days = models.PositiveIntegerField(_("send every (days)"), default=90)
    property_filter = models.JSONField(
        _("only people whose properties match"), default=dict, blank=True,
        help_text=_('e.g. {"plan": "pro"}; empty means everyone.'))
    next_run_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["account", "enabled"]), models.Index(fields=["enabled", "next_run_at"])]

    def __str__(self) -> str:
        return f"Autopilot of {self.survey_id} every {self.every_days} days"
