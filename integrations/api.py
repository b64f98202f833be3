"""REST API of webhook endpoints and Zapier subscriptions (/api/v1/webhooks, /api/v1/zapier_subscriptions).

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
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown in this answer only.")

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
