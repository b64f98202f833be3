"""REST API of surveys (with their questions), people, invitations and suppressions (/api/v1/)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.request import Request

from accounts.api import (
    ACCOUNT_HEADER,
    ERROR_RESPONSES,
    IDEMPOTENCY_HEADER,
    AccountViewSet,
    IdempotentCreateMixin,
    StrictCharField,
    StrictEmailField,
    StrictIntegerField,
)
from surveys import services
from surveys.models import Channel, Invitation, Person, Question, Suppression, Survey, SurveyKind
from surveys.services.quotas import quota_room
from surveys.services.suppressions import erase_person, suppress_address

DATE_FILTERS = [
    OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="Only rows created at or after this time."),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="Only rows created before this time."),
]


def date_filtered(request: Request, rows: QuerySet) -> QuerySet:
    """Apply ``created_after`` / ``created_before`` (ISO 8601); a bad date is a 400 naming the field."""
    field = serializers.DateTimeField()
    for param, lookup in (("created_after", "created_at__gte"), ("created_before", "created_at__lt")):
        if param in request.query_params:
            value = request.query_params[param]
            try:
                rows = rows.filter(**{lookup: field.to_internal_value(value)})
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({param: exc.detail}) from None
    return rows


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "choices", "allow_other", "required", "show_to",
                  "is_resolution", "scale_min", "scale_max"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=SurveyKind.choices, default=SurveyKind.NPS)
    question = StrictCharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        model = Survey
        fields = ["id", "name", "kind", "question", "scale_min", "scale_max", "locale", "status", "is_default",
                  "public_id", "created_at", "updated_at", "questions"]
        read_only_fields = ["id", "scale_min", "scale_max", "locale", "status", "is_default", "public_id",
                            "created_at", "updated_at", "questions"]


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: SurveySerializer, **ERROR_RESPONSES}),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: SurveySerializer, **ERROR_RESPONSES}),
    create=extend_schema(parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER],
                         responses={201: SurveySerializer, **ERROR_RESPONSES},
                         examples=[OpenApiExample("A CES survey", value={"name": "Support", "kind": "ces"},
                                                  request_only=True)]),
)
class SurveyViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountViewSet):
    """Surveys of the account, each with its extra questions. Create makes a survey with default texts."""

    serializer_class = SurveySerializer
    queryset = Survey.objects.none()

    def scoped_queryset(self) -> QuerySet[Survey]:
        return self.request.account.surveys.prefetch_related("questions").order_by("-created_at", "-id")

    def perform_create(self, serializer: SurveySerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_survey(account=self.request.account, name=data["name"],
                                                     kind=data["kind"], question=data.get("question", ""))


class PersonSerializer(serializers.ModelSerializer):
    email = StrictCharField(max_length=254, required=False, allow_null=True, allow_blank=True)
    phone_number = StrictCharField(max_length=16, required=False, allow_null=True, allow_blank=True)
    name = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    properties = serializers.DictField(child=StrictCharField(max_length=1000, allow_blank=True),
                                       required=False, default=dict)

    class Meta:
        model = Person
        fields = ["id", "email", "phone_number", "name", "properties", "last_surveyed_at", "last_responded_at",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "last_surveyed_at", "last_responded_at", "created_at", "updated_at"]


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER, OpenApiParameter("email", OpenApiTypes.STR), *DATE_FILTERS],
                       responses={200: PersonSerializer, **ERROR_RESPONSES}),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: PersonSerializer, **ERROR_RESPONSES}),
    create=extend_schema(parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER],
                         responses={201: PersonSerializer, **ERROR_RESPONSES},
                         examples=[OpenApiExample("A customer", request_only=True, value={
                             "email": "jony@example.com", "name": "Jony", "properties": {"plan": "pro"}})]),
    destroy=extend_schema(parameters=[ACCOUNT_HEADER], responses={204: None, **ERROR_RESPONSES}),
)
class PersonViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.DestroyModelMixin, AccountViewSet):
    """People of the account. Create upserts by email (else phone); delete erases the person and their data."""

    serializer_class = PersonSerializer
    queryset = Person.objects.none()

    def scoped_queryset(self) -> QuerySet[Person]:
        rows = self.request.account.people.all()
        email = self.request.query_params.get("email")
        if email:
            rows = rows.filter(email=services.people.normalize_email(email))
        return date_filtered(self.request, rows)

    def perform_create(self, serializer: PersonSerializer) -> None:
        data = serializer.validated_data
        serializer.instance, _created = services.upsert_person(
            account=self.request.account, email=data.get("email") or None,
            phone_number=data.get("phone_number") or None, name=data.get("name"), properties=data.get("properties"))

    def perform_destroy(self, instance: Person) -> None:
        erase_person(person=instance)


class InvitationSerializer(serializers.ModelSerializer):
    survey = StrictIntegerField(source="survey_id", help_text="Id of one of the account's surveys.")
    person = StrictIntegerField(source="person_id", help_text="Id of one of the account's people.")
    channel = serializers.ChoiceField(choices=[Channel.EMAIL, Channel.SMS], default=Channel.EMAIL)
    properties = serializers.DictField(child=StrictCharField(max_length=1000, allow_blank=True),
                                       required=False, default=dict)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "survey", "person", "channel", "properties", "scheduled_at", "status", "sent_at",
                  "created_at"]
        read_only_fields = ["id", "status", "sent_at", "created_at"]


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER, OpenApiParameter("survey", OpenApiTypes.INT),
                                   OpenApiParameter("status", OpenApiTypes.STR, enum=Invitation.Status.values),
                                   *DATE_FILTERS],
                       responses={200: InvitationSerializer, **ERROR_RESPONSES}),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: InvitationSerializer, **ERROR_RESPONSES}),
    create=extend_schema(parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER],
                         responses={201: InvitationSerializer, **ERROR_RESPONSES},
                         examples=[OpenApiExample("Send now", request_only=True,
                                                  value={"survey": 1, "person": 1, "channel": "email"})]),
)
class InvitationViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountViewSet):
    """Invitations (sends). Creating one schedules the survey for the person; the dispatcher sends it."""

    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def scoped_queryset(self) -> QuerySet[Invitation]:
        rows = self.request.account.invitations.all()
        survey = self.request.query_params.get("survey")
        if survey:
            rows = rows.filter(survey_id=int(survey)) if survey.isdecimal() and len(survey) < 19 else rows.none()
        status = self.request.query_params.get("status")
        if status is not None:  # "?status=" is not a status either (schemathesis: an enum violation accepted)
            if status not in Invitation.Status.values:
                raise serializers.ValidationError({"status": [f"One of: {', '.join(Invitation.Status.values)}."]})
            rows = rows.filter(status=status)
        return date_filtered(self.request, rows)

    @staticmethod
    def refuse_over_quota(account: Any, scheduled_at: Any) -> None:
        """A send asked for now while the account's hourly or daily quota is used up: 429 with
        Retry-After (EM-28), rather than a row the dispatcher would only mark ``skipped_quota``."""
        now = timezone.now()
        if scheduled_at is not None and scheduled_at > now + timedelta(minutes=1):
            return
        room, reason = quota_room(account=account, now=now)
        if room <= 0:
            wait = 3600 if "hourly" in reason else 24 * 3600
            raise exceptions.Throttled(wait=wait, detail=f"Send quota reached: {reason}. Schedule it later.")

    def perform_create(self, serializer: InvitationSerializer) -> None:
        data = serializer.validated_data
        account = self.request.account
        survey = account.surveys.filter(pk=data["survey_id"]).first()
        person = account.people.filter(pk=data["person_id"]).first()
        errors = {k: ["Unknown id."] for k, v in (("survey", survey), ("person", person)) if v is None}
        if errors:
            raise serializers.ValidationError(errors)
        self.refuse_over_quota(account, data.get("scheduled_at"))
        serializer.instance = services.schedule_invitation(
            survey=survey, person=person, scheduled_at=data.get("scheduled_at"), channel=data["channel"],
            properties=data.get("properties"))


class SuppressionSerializer(serializers.ModelSerializer):
    email = StrictEmailField(max_length=254)
    reason = serializers.ChoiceField(choices=Suppression.Reason.choices, default=Suppression.Reason.MANUAL)

    class Meta:
        model = Suppression
        fields = ["id", "email", "reason", "source", "created_at"]
        read_only_fields = ["id", "source", "created_at"]


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER, OpenApiParameter("reason", OpenApiTypes.STR), *DATE_FILTERS],
                       responses={200: SuppressionSerializer, **ERROR_RESPONSES}),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: SuppressionSerializer, **ERROR_RESPONSES}),
    create=extend_schema(parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER],
                         responses={201: SuppressionSerializer, **ERROR_RESPONSES}),
)
class SuppressionViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountViewSet):
    """Addresses the account never emails again (unsubscribed, bounced, complained, manual)."""

    serializer_class = SuppressionSerializer
    queryset = Suppression.objects.none()

    def scoped_queryset(self) -> QuerySet[Suppression]:
        rows = self.request.account.suppressions.all()
        if self.request.query_params.get("reason"):
            rows = rows.filter(reason=self.request.query_params["reason"])
        return date_filtered(self.request, rows)

    def perform_create(self, serializer: SuppressionSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = suppress_address(account=self.request.account, email=data["email"],
                                               reason=data["reason"], source="api")


def survey_of(request: Request, pk: Any) -> Survey:
    return get_object_or_404(request.account.surveys, pk=pk)
