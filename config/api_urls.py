"""Verbatim's REST API under /api/ (DRF routers of each app's api.py) and its OpenAPI schema.

Webhook endpoints and Zapier subscriptions come from integrations/api.py; response notes and tags
and follow-up cases from responses/api.py (see docs/api.md).
"""
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from accounts.api import CurrentAccountView
from integrations.api import (
    AutopilotMembershipViewSet,
    TrendViewSet,
    WebhookEndpointViewSet,
    ZapierSubscriptionViewSet,
)
from integrations.delighted.openapi import DelightedSchemaGenerator
from reports.api import SelfAssessmentViewSet, SurveyMetricsView
from responses.api import CaseViewSet, ResponseViewSet
from surveys.api import InvitationViewSet, PersonViewSet, SuppressionViewSet, SurveyViewSet

app_name = "restapi"


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any other /api/ path: the API's JSON 404, never the HTML page."""
    return JsonResponse({"status": 404, "message": "Not Found"}, status=404)

router = SimpleRouter(trailing_slash=False)
router.register("surveys", SurveyViewSet, basename="survey")
router.register("people", PersonViewSet, basename="person")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("responses", ResponseViewSet, basename="response")
router.register("suppressions", SuppressionViewSet, basename="suppression")
router.register("self-assessments", SelfAssessmentViewSet, basename="selfassessment")
router.register("webhooks", WebhookEndpointViewSet, basename="webhookendpoint")
router.register("zapier_subscriptions", ZapierSubscriptionViewSet, basename="zapiersubscription")
router.register("cases", CaseViewSet, basename="case")
router.register("trends", TrendViewSet, basename="trend")
router.register("autopilot_memberships", AutopilotMembershipViewSet, basename="autopilotmembership")

urlpatterns = [
    path("v1/account", CurrentAccountView.as_view(), name="account-current"),
    path("v1/surveys/<int:pk>/metrics", SurveyMetricsView.as_view(), name="survey-metrics"),
    path("v1/", include(router.urls)),
    # the generated schema plus the hand-written /v1/ (Delighted-compatible) contract
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[],
                                               generator_class=DelightedSchemaGenerator), name="schema"),
    path("docs/", TemplateView.as_view(template_name="api/explorer.html"), name="docs"),
    re_path(r"^.*$", api_not_found),
]
