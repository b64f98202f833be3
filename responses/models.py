"""Responses, answers to extra questions, and the daily rollups that reports read."""
from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.scoping import TenantManager
from surveys.models import Channel, Invitation, Person, Question, Survey

SCORE_COLUMNS = [f"s{i}" for i in range(11)]  # rollup buckets for scores 0..10 (all kinds fit)


class Response(models.Model):
    """One respondent's answer to a survey. One per invitation, whatever the number of clicks."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="responses")
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

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="answers")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
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


class DailyRollup(models.Model):
    """Counts per (account, survey, day in the account's time zone, channel): reports read these.

    ``s0``..``s10`` count responses per score; ``comments`` those with a comment. Suspected bot
    traffic is left out. Kept up to date in the response's transaction (``rollups.py``).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="rollups")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="rollups")
    day = models.DateField()
    channel = models.CharField(max_length=8)
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

    objects = TenantManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "survey", "day", "channel"],
                                               name="rollup_unique")]
        indexes = [models.Index(fields=["account", "day"])]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.channel}"

    @property
    def counts(self) -> list[int]:
        return [getattr(self, c) for c in SCORE_COLUMNS]
