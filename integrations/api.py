"""REST API of webhook endpoints, Zapier subscriptions, saved trends and autopilot members
(/api/v1/webhooks, /api/v1/zapier_subscriptions, /api/v1/trends, /api/v1/autopilot_memberships).

Writes go through ``integrations.services.config`` (URL checks against SSRF, event and filter validation).
An endpoint's signing secret is in the answer to its creation only; it is never listed or retrieved again.
Session users need the admin role to add or remove endpoints (as on the pages); API keys need ``write``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api import (
    ACCOUNT_HEADER,
    ERROR_RESPONSES,
    IDEMPOTENCY_HEADER,
    SAFE_METHODS,
    AccountViewSet,
    IdempotentCreateMixin,
    StrictCharField,
    StrictIntegerField,
)
from accounts.models import ApiKey
from integrations.delighted import services as delighted_services
from integrations.delighted.models import AutopilotMembership, Trend
from integrations.models import EVENT_KINDS, WebhookEndpoint, ZapierSubscription
from integrations.services import config as services
from surveys.models import ScoreGroup


def acting_user(request: Request) -> Any:
    """The Django user behind a session request; None for an API key (keys act for the account)."""
    return request.user if isinstance(request.user, get_user_model()) else None


class ManagersWrite(permissions.BasePermission):
    """Writes by a browser session need an admin (as the integration pages); keys are checked by scope."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS or isinstance(request.auth, ApiKey):
            return True
        membership = getattr(request, "membership", None)
        return bool(membership and membership.can_manage)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (no 0, 1 or "yes")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class FiltersSerializer(serializers.Serializer):
    """Which responses a destination receives; every key optional (none: every response)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    survey_ids = serializers.ListField(child=StrictIntegerField(min_value=1), required=False, max_length=100,
                                       help_text="Only responses to these surveys of the account.")
    score_groups = serializers.ListField(child=serializers.ChoiceField(choices=ScoreGroup.values), required=False,
                                         max_length=3)
    has_comment = StrictBooleanField(required=False)
    max_score = StrictIntegerField(required=False, min_value=0, max_value=10)
    comment_contains = StrictCharField(required=False, max_length=200)
    property_key = StrictCharField(required=False, max_length=64)
    property_value = StrictCharField(required=False, max_length=255, allow_blank=True)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = StrictCharField(max_length=2048, help_text="https:// URL reachable from the internet.")
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    format = serializers.ChoiceField(choices=WebhookEndpoint.Format.choices, default=WebhookEndpoint.Format.STANDARD,
                                     help_text="standard (Standard Webhooks) or delighted (Delighted's bodies).")
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_KINDS), required=False, default=list,
                                   max_length=len(EVENT_KINDS), help_text="Empty: every event.")
    filters = FiltersSerializer(required=False, default=dict)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "format", "events", "filters", "is_active", "disabled_reason",
                  "created_at"]
        read_only_fields = ["id", "is_active", "disabled_reason", "created_at"]

    def validate_url(self, value: str) -> str:
        """Malformed URLs (bad brackets or port) here; the service checks scheme, credentials and addresses."""
        try:
            urlsplit(value.strip()).port  # noqa: B018  (raises ValueError on a malformed netloc or port)
        except ValueError:
            raise serializers.ValidationError("Enter a valid URL.") from None
        return value


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, allow_null=True,
        help_text="The signing secret: shown in this answer only. A replay of the creation (same "
                  "Idempotency-Key) answers the first result with the secret null.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


ENDPOINT_EXAMPLE = {"id": 7, "url": "https://hooks.example.com/verbatim", "description": "CRM",
                    "format": "standard", "events": ["response.created"], "filters": {"score_groups": ["detractor"]},
                    "is_active": True, "disabled_reason": "", "created_at": "2026-01-01T00:00:00Z"}


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES},
                       examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)]),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER],
                           responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES},
                           examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)]),
    create=extend_schema(
        parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER], request=WebhookEndpointSerializer,
        responses={201: NewWebhookEndpointSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("Detractors to the CRM", request_only=True, value={
                      "url": "https://hooks.example.com/verbatim", "description": "CRM",
                      "events": ["response.created"], "filters": {"score_groups": ["detractor"]}}),
                  OpenApiExample("Created (keep the secret)", response_only=True, status_codes=["201"],
                                 value={**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})]),
    destroy=extend_schema(parameters=[ACCOUNT_HEADER], responses={204: None, **ERROR_RESPONSES}),
)
class WebhookEndpointViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.DestroyModelMixin, AccountViewSet):
    """Webhook endpoints of the account. The secret is returned once, in the answer to the creation."""

    queryset = WebhookEndpoint.objects.none()
    permission_classes = [*AccountViewSet.permission_classes, ManagersWrite]
    idempotency_redacted_fields = ("secret",)  # a replay never shows the secret a second time

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return NewWebhookEndpointSerializer if self.action == "create" else WebhookEndpointSerializer

    def scoped_queryset(self) -> QuerySet[WebhookEndpoint]:
        return self.request.account.webhook_endpoints.all()

    def perform_create(self, serializer: WebhookEndpointSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_webhook_endpoint(
            account=self.request.account, url=data["url"], events=data.get("events"), format=data["format"],
            description=data.get("description", ""), filters=dict(data.get("filters") or {}),
            by=acting_user(self.request))

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.delete_webhook_endpoint(endpoint=instance)


class ZapierSubscriptionSerializer(serializers.ModelSerializer):
    filters = serializers.DictField(read_only=True)

    class Meta:
        model = ZapierSubscription
        fields = ["id", "target_url", "event", "filters", "is_active", "created_at"]
        read_only_fields = fields


ZAP_EXAMPLE = OpenApiExample("A Zap", response_only=True, value={
    "id": 3, "target_url": "https://hooks.zapier.com/hooks/standard/1/abc/", "event": "response.created",
    "filters": {}, "is_active": True, "created_at": "2026-01-01T00:00:00Z"})


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: ZapierSubscriptionSerializer, **ERROR_RESPONSES},
                       examples=[ZAP_EXAMPLE]),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER],
                           responses={200: ZapierSubscriptionSerializer, **ERROR_RESPONSES}, examples=[ZAP_EXAMPLE]),
    destroy=extend_schema(parameters=[ACCOUNT_HEADER], responses={204: None, **ERROR_RESPONSES}),
)
class ZapierSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                                AccountViewSet):
    """Zapier REST-hook subscriptions (Zapier creates them through /integrations/zapier/); list and remove."""

    serializer_class = ZapierSubscriptionSerializer
    queryset = ZapierSubscription.objects.none()
    permission_classes = [*AccountViewSet.permission_classes, ManagersWrite]

    def scoped_queryset(self) -> QuerySet[ZapierSubscription]:
        return self.request.account.zapier_subscriptions.all()

    def perform_destroy(self, instance: ZapierSubscription) -> None:
        services.unsubscribe_zapier(account=self.request.account, subscription_id=instance.pk)


class TrendFiltersSerializer(serializers.Serializer):
    """A trend's segment; every key optional and combined with AND (none: every response)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    properties = serializers.DictField(child=StrictCharField(max_length=255, allow_blank=True), required=False,
                                       help_text="Response properties that must all match, e.g. {\"plan\": \"pro\"}.")
    person_properties = serializers.DictField(child=StrictCharField(max_length=255, allow_blank=True),
                                              required=False, help_text="The person's properties, likewise.")
    tags = serializers.ListField(child=StrictCharField(max_length=40), required=False, max_length=20,
                                 help_text="Tags the response must all carry.")
    score_min = StrictIntegerField(required=False, min_value=0, max_value=10)
    score_max = StrictIntegerField(required=False, min_value=0, max_value=10)
    has_comment = StrictBooleanField(required=False)


class TrendSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True, help_text="Pass it as trend=<id> to /v1/survey_responses, /v1/metrics.")
    name = StrictCharField(max_length=100)
    filters = TrendFiltersSerializer(required=False, default=dict)

    class Meta:
        model = Trend
        fields = ["id", "name", "filters", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


TREND_EXAMPLE = {"id": "12", "name": "Pro plan detractors", "filters": {"properties": {"plan": "pro"}, "score_max": 6},
                 "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: TrendSerializer, **ERROR_RESPONSES},
                       examples=[OpenApiExample("A trend", value=TREND_EXAMPLE, response_only=True)]),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: TrendSerializer, **ERROR_RESPONSES},
                           examples=[OpenApiExample("A trend", value=TREND_EXAMPLE, response_only=True)]),
    create=extend_schema(
        parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER], request=TrendSerializer,
        responses={201: TrendSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("Pro plan detractors", request_only=True,
                                 value={"name": "Pro plan detractors",
                                        "filters": {"properties": {"plan": "pro"}, "score_max": 6}}),
                  OpenApiExample("Created", response_only=True, status_codes=["201"], value=TREND_EXAMPLE)]),
    partial_update=extend_schema(
        parameters=[ACCOUNT_HEADER], request=TrendSerializer, responses={200: TrendSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("Rename", request_only=True, value={"name": "Pro plan"})]),
    destroy=extend_schema(parameters=[ACCOUNT_HEADER], responses={204: None, **ERROR_RESPONSES}),
)
class TrendViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   mixins.UpdateModelMixin, mixins.DestroyModelMixin, AccountViewSet):
    """Saved trends (named segments of responses), oldest first: the ``trend`` parameter of the /v1/ API.

    PATCH renames a trend or replaces its ``filters`` (the whole object); PUT is not offered.
    """

    serializer_class = TrendSerializer
    queryset = Trend.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        self.reject_unknown_fields(request)
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer: TrendSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = delighted_services.update_trend(
            trend=serializer.instance, name=data.get("name"),
            filters=dict(data["filters"]) if "filters" in data else None)

    def scoped_queryset(self) -> QuerySet[Trend]:
        return self.request.account.trends.order_by("created_at", "id")

    def perform_create(self, serializer: TrendSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = delighted_services.create_trend(
            account=self.request.account, name=data["name"], filters=dict(data.get("filters") or {}))

    def perform_destroy(self, instance: Trend) -> None:
        delighted_services.delete_trend(trend=instance)


class AutopilotMembershipSerializer(serializers.ModelSerializer):
    survey = StrictIntegerField(source="survey_id", help_text="Id of one of the account's surveys with an Autopilot.")
    person = StrictIntegerField(source="person_id", help_text="Id of one of the account's people.")
    platform = serializers.ChoiceField(choices=AutopilotMembership.Platform.choices,
                                       default=AutopilotMembership.Platform.EMAIL)
    properties = serializers.DictField(child=StrictCharField(max_length=1000, allow_blank=True), required=False,
                                       default=dict, help_text="Ride along on every recurring survey; replace.")

    class Meta:
        model = AutopilotMembership
        fields = ["id", "survey", "person", "platform", "properties", "sends_scheduled", "next_send_at",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "sends_scheduled", "next_send_at", "created_at", "updated_at"]


MEMBER_EXAMPLE = {"id": 5, "survey": 1, "person": 42, "platform": "email", "properties": {"plan": "pro"},
                  "sends_scheduled": 1, "next_send_at": "2026-04-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
                  "updated_at": "2026-01-01T00:00:00Z"}


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: AutopilotMembershipSerializer, **ERROR_RESPONSES},
                       examples=[OpenApiExample("A member", value=MEMBER_EXAMPLE, response_only=True)]),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER],
                           responses={200: AutopilotMembershipSerializer, **ERROR_RESPONSES}),
    create=extend_schema(
        parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER], request=AutopilotMembershipSerializer,
        responses={201: AutopilotMembershipSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("Enrol", request_only=True,
                                 value={"survey": 1, "person": 42, "properties": {"plan": "pro"}}),
                  OpenApiExample("Enrolled", response_only=True, status_codes=["201"], value=MEMBER_EXAMPLE)]),
    destroy=extend_schema(parameters=[ACCOUNT_HEADER], responses={204: None, **ERROR_RESPONSES}),
)
class AutopilotMembershipViewSet(IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                 mixins.DestroyModelMixin, AccountViewSet):
    """People enrolled in a survey's Autopilot: a survey now, then one every ``every_days`` until removed."""

    serializer_class = AutopilotMembershipSerializer
    queryset = AutopilotMembership.objects.none()

    def scoped_queryset(self) -> QuerySet[AutopilotMembership]:
        return self.request.account.autopilot_memberships.order_by("created_at", "id")

    def perform_create(self, serializer: AutopilotMembershipSerializer) -> None:
        data = serializer.validated_data
        account = self.request.account
        survey = account.surveys.filter(pk=data["survey_id"]).first()
        person = account.people.filter(pk=data["person_id"]).first()
        errors = {k: ["Unknown id."] for k, v in (("survey", survey), ("person", person)) if v is None}
        if errors:
            raise serializers.ValidationError(errors)
        serializer.instance = delighted_services.add_autopilot_member(
            survey=survey, platform=data["platform"], person=person, properties=dict(data.get("properties") or {}))

    def perform_destroy(self, instance: AutopilotMembership) -> None:
        delighted_services.remove_autopilot_member(membership=instance)
