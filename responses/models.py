"""Responses, answers to extra questions, and the daily rollups that reports read."""
from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from accounts.scoping import TenantManager
from surveys.models import Channel, Invitation, Person, Question, Survey

SCORE_COLUMNS = [f"s{i}" for i in range(11)]  # rollup buckets for scores 0..10 (all kinds fit)


class Response(models.Model):
    """One respondent's answer to a survey. One per invitation, whatever the number of clicks."""

    # No index of its own: the indexes below lead with it (each index is one more entry written per row).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="responses", db_index=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    invitation = models.OneToOneField(Invitation, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="response")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="responses")
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    properties = models.JSONField(default=dict, blank=True)
    locale = models.CharField(max_length=8, blank=True)
    suspected_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "created_at", "id"]),
            models.Index(fields=["account", "survey", "created_at"]),
            models.Index(fields=["account", "updated_at", "id"]),
            models.Index(fields=["account", "person", "created_at"]),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=10),
                                              name="response_score_range")]

    def __str__(self) -> str:
        return f"{self.score} from {self.person or 'anonymous'}"

    def get_absolute_url(self) -> str:
        return reverse("responses:response-detail", kwargs={"account": self.account.slug, "pk": self.pk})

    @property
    def group(self) -> str:
        return self.survey.group_of(self.score)


class Answer(models.Model):
    """The answer to one extra question: ``value`` holds choices, text, a number or a yes/no."""

    # Neither has an index of its own: (account, question) and answer_unique (response, question) lead with them.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="answers", db_index=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    value = models.JSONField()
    other_text = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_unique")]
        indexes = [models.Index(fields=["account", "question"])]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.value}"


class ScoreCounts(models.Model):
    """The counters every rollup row carries: responses per score (``s0``..``s10``), those with a
    comment, and the shard the row belongs to (``responses.rollups.SHARDS``; readers sum the shards)."""

    s0 = models.IntegerField(default=0)
    s1 = models.IntegerField(default=0)
    s2 = models.IntegerField(default=0)
    s3 = models.IntegerField(default=0)
    s4 = models.IntegerField(default=0)
    s5 = models.IntegerField(default=0)
    s6 = models.IntegerField(default=0)
    s7 = models.IntegerField(default=0)
    s8 = models.IntegerField(default=0)
    s9 = models.IntegerField(default=0)
    s10 = models.IntegerField(default=0)
    comments = models.IntegerField(default=0)
    shard = models.PositiveSmallIntegerField(default=0)  # response id % rollups.SHARDS: readers sum the shards

    class Meta:
        abstract = True

    @property
    def counts(self) -> list[int]:
        return [getattr(self, c) for c in SCORE_COLUMNS]


class DailyRollup(ScoreCounts):
    """Counts per (account, survey, day in the account's time zone, channel): reports read these.

    ``s0``..``s10`` count responses per score; ``comments`` those with a comment. Suspected bot
    traffic is left out. Kept up to date in the response's transaction (``rollups.py``).
    """

    # No index of its own: (account, day) and rollup_unique_sharded lead with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="rollups", db_index=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="rollups")
    day = models.DateField()
    channel = models.CharField(max_length=8)

    objects = TenantManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "survey", "day", "channel", "shard"],
                                               name="rollup_unique_sharded")]
        indexes = [models.Index(fields=["account", "day"])]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.channel}"


# --- follow-up cases (closing the loop) ------------------------------------------------------------

class CaseSettings(models.Model):
    """One row per account: SLA, business hours, escalation and the holdout experiment.

    Created with the default case rule ("every detractor") by ``responses.cases.case_settings``.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="case_settings")
    business_start = models.TimeField(default=datetime.time(9, 0))
    business_end = models.TimeField(default=datetime.time(17, 0))
    business_days = models.JSONField(default=list, blank=True)  # ISO weekdays 1 (Monday)..7; empty: Mon-Fri
    detractor_sla_minutes = models.PositiveIntegerField(default=5)  # in business hours
    other_sla_hours = models.PositiveIntegerField(default=24)  # wall-clock hours (outside hours, other groups)
    escalate_admins_after_minutes = models.PositiveIntegerField(default=60)  # after the due time
    holdout_percent = models.PositiveSmallIntegerField(default=0)  # 0..50; 0: no experiment
    holdout_seed = models.CharField(max_length=32, blank=True)
    round_robin_cursor = models.PositiveIntegerField(default=0)

    objects = TenantManager()

    class Meta:
        verbose_name_plural = "case settings"

    def __str__(self) -> str:
        return f"case settings of {self.account_id}"

    @property
    def weekdays(self) -> list[int]:
        return [int(d) for d in self.business_days] or [1, 2, 3, 4, 5]


class CaseRule(models.Model):
    """Which responses open a follow-up case; every condition set must hold (empty: any)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="case_rules")
    name = models.CharField(max_length=100)
    score_groups = models.JSONField(default=list, blank=True)  # ["detractor", ...]; empty: every group
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="case_rules")
    property_name = models.CharField(max_length=64, blank=True)
    property_value = models.CharField(max_length=500, blank=True)
    requires_comment = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "active"])]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """A response property value that routes its case to a member or an email address."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="routing_rules")
    property_name = models.CharField(max_length=64)
    property_value = models.CharField(max_length=500)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    assignee_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "property_name"])]

    def __str__(self) -> str:
        return f"{self.property_name}={self.property_value}"


class Case(models.Model):
    """A follow-up of one response: who calls the customer back, by when, and what happened."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONTACTED = "contacted", _("Contacted")
        RESOLVED = "resolved", _("Resolved")
        WONT_FIX = "wont_fix", _("Won't fix")

    class ContactChannel(models.TextChoices):
        NONE = "", _("Not yet")
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    # No index of its own: the (account, ...) indexes below lead with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="cases", db_index=False)
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="case")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    rule = models.ForeignKey(CaseRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    group = models.CharField(max_length=10)  # score group when opened
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="cases")
    assignee_email = models.EmailField(blank=True)
    contact_channel = models.CharField(max_length=5, choices=ContactChannel.choices, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    experiment = models.BooleanField(default=False)  # part of a holdout experiment (either arm)
    holdout = models.BooleanField(default=False)  # randomly left without outreach
    escalation_level = models.PositiveSmallIntegerField(default=0)  # 1: assignee alerted, 2: admins alerted
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    contacted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["account", "status", "due_at"]),
            models.Index(fields=["account", "assignee", "status"]),
            models.Index(fields=["status", "escalation_level", "due_at"]),  # the escalation sweep
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("responses:case-detail", kwargs={"account": self.account.slug, "pk": self.pk})

    def is_overdue(self, now: Any = None) -> bool:
        return (self.status == self.Status.OPEN and self.due_at is not None
                and self.due_at <= (now or timezone.now()))

    @property
    def assignee_label(self) -> str:
        if self.assignee_id:
            return self.assignee.email or self.assignee.username
        return self.assignee_email


class ResponseNote(models.Model):
    """A note on any response (and its case, if any); email replies are recorded as notes too."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        EMAIL = "email", _("Email reply")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="response_notes")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="notes")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "response", "created_at"])]

    def __str__(self) -> str:
        return self.body[:40]


class CaseEvent(models.Model):
    """The history of a case: one row per change (opened, status, assignee, note, tags, reply, alert)."""

    # No index of its own: (account, case, created_at) leads with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="case_events", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "case", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"


class ActionClick(models.Model):
    """A respondent followed the action link (review, referral...) of a thank-you page.

    The link goes through Verbatim (``/r/<token>/action`` or a signed ``/s/<public-id>/action/...``),
    which records one row per click and redirects to the URL the survey configured for the group.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="action_clicks")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="action_clicks")
    response = models.ForeignKey(Response, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="action_clicks")
    group = models.CharField(max_length=9)
    url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "survey", "group"])]

    def __str__(self) -> str:
        return f"{self.group} click on {self.url}"


# --- follow-up emails to promoters and passives (closing the loop) ---------------------------------

class FollowUpRule(models.Model):
    """The follow-up email for one score group, for one survey or (no survey) the account's default.

    It carries the survey's thank-you action for that group (review, referral, "what would make it a
    10?"): the link goes through the tracked action door, so clicks land in the action-click report.
    """

    class Action(models.TextChoices):
        REVIEW = "review", _("Review link")
        REFERRAL = "referral", _("Referral link")
        QUESTION = "question", _('"What would make it a 10?" question')

    GROUPS = (("promoter", _("Promoters")), ("passive", _("Passives")))

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="follow_up_rules")
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="follow_up_rules")
    group = models.CharField(_("score group"), max_length=9, choices=GROUPS)
    enabled = models.BooleanField(_("send it"), default=True)
    delay_minutes = models.PositiveIntegerField(_("send after (minutes)"), default=60)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    action = models.CharField(_("action"), max_length=9, choices=Action.choices, default=Action.REVIEW)
    link_text = models.CharField(_("link text"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["survey_id", "group", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "survey", "group"], condition=models.Q(survey__isnull=False),
                                    name="followuprule_survey_group"),
            models.UniqueConstraint(fields=["account", "group"], condition=models.Q(survey__isnull=True),
                                    name="followuprule_account_group"),
        ]
        indexes = [models.Index(fields=["account", "group"])]

    def __str__(self) -> str:
        return f"follow-up to {self.group}s ({self.survey_id or 'all surveys'})"


class FollowUp(models.Model):
    """The outbox row of one follow-up email (at most one per response). The beat sweep picks up rows
    whose ``due_at`` has passed; the database holds the schedule (no Celery ETA)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (interrupted while sending)")
        SKIPPED_SUPPRESSED = "skipped_suppressed", _("Skipped: suppressed address")
        SKIPPED_THROTTLED = "skipped_throttled", _("Skipped: followed up recently")
        SKIPPED_PAUSED = "skipped_paused", _("Skipped: sending paused")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of its own: (account, person, status, sent_at) leads with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="follow_ups", db_index=False)
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="follow_ups")
    rule = models.ForeignKey(FollowUpRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    group = models.CharField(max_length=9)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="followup_due"),
            models.Index(fields=["account", "person", "status", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk} ({self.status})"
