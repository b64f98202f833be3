"""Models of reports: who receives the monthly stakeholder report, and one row per (account, month) sent."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from accounts.scoping import TenantManager
from responses.models import ScoreCounts


class ReportRecipient(models.Model):
    """A recipient of the monthly report: a member of the account or a plain email address."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="report_recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    email = models.EmailField(_("email"), blank=True, help_text=_("For people who are not members."))
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["account", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], condition=models.Q(user__isnull=False),
                                    name="report_recipient_unique_user"),
            models.UniqueConstraint(fields=["account", "email"], condition=~models.Q(email=""),
                                    name="report_recipient_unique_email"),
            models.CheckConstraint(condition=models.Q(user__isnull=False) | ~models.Q(email=""),
                                   name="report_recipient_user_or_email"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return self.user.email or self.user.username if self.user_id else self.email


class MonthlyReport(models.Model):
    """The stakeholder report of one calendar month; the unique row makes sending idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="monthly_reports")
    month = models.DateField(help_text=_("First day of the month the report covers."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_to = models.JSONField(default=list, blank=True, help_text=_("Addresses already sent (a retry skips them)."))
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-month"]
        indexes = [models.Index(fields=["account", "month"])]
        constraints = [models.UniqueConstraint(fields=["account", "month"], name="monthly_report_unique")]

    def __str__(self) -> str:
        return self.month.strftime("%B %Y")

    def get_absolute_url(self) -> str:
        return reverse("reports:monthlyreport-detail", kwargs={"account": self.account.slug, "pk": self.pk})


class SelfAssessment(models.Model):
    """An agent's own rating of one of their interactions, on the survey's scale, recorded through the
    API or the agents page; the scorecards set it beside their customers' score."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="self_assessments")
    agent = models.CharField(_("agent"), max_length=200,
                             help_text=_("As in the responses' “agent” property."))
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="self_assessments")
    score = models.SmallIntegerField(_("score"), help_text=_("On the survey's scale."))
    interaction = models.CharField(_("interaction"), max_length=200, blank=True,
                                   help_text=_("Optional: the ticket, call or chat this rates."))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "agent", "created_at"]),
                   models.Index(fields=["account", "interaction"], condition=~models.Q(interaction=""),
                                name="selfassessment_interaction")]

    def __str__(self) -> str:
        return f"{self.agent}: {self.score}"


class SegmentRollup(ScoreCounts):
    """Counts per (account, survey, day in the account's time zone, property key, property value): what
    segment breakdowns and property filters read instead of raw rows.

    Written in the response's transaction by ``responses.rollups`` (one upsert per response) for the
    keys in ``ROLLUP_KEYS``; a response without the key counts under value ``""`` (shown "(none)"), so
    every key's rows add up to the ``DailyRollup`` totals. Suspected bot traffic is left out.
    """

    # no index of its own: the unique constraint below leads with account
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="segment_rollups", db_index=False)
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="segment_rollups")
    day = models.DateField()
    key = models.CharField(max_length=40)
    value = models.CharField(max_length=200, blank=True)

    objects = TenantManager()

    class Meta:
        # Led by account; (survey, key, day) is the exact range of a breakdown (one key over a period), and a
        # filter (one value) reads the same range.
        constraints = [models.UniqueConstraint(fields=["account", "survey", "key", "day", "value", "shard"],
                                               name="segment_rollup_unique_sharded")]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.key}={self.value}"
