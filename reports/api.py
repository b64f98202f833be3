"""REST API of metrics (/api/v1/surveys/<pk>/metrics): the dashboards' numbers, with margins of error."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from accounts.api import ACCOUNT_HEADER, ERROR_RESPONSES, AccountApiMixin
from integrations.delighted.services import score_counts
from reports.metrics import headline

MetricsSerializer = inline_serializer("SurveyMetrics", fields={
    "survey": serializers.IntegerField(), "kind": serializers.CharField(), "label": serializers.CharField(),
    "value": serializers.FloatField(allow_null=True), "low": serializers.FloatField(allow_null=True),
    "high": serializers.FloatField(allow_null=True), "margin": serializers.FloatField(allow_null=True),
    "unit": serializers.CharField(allow_blank=True), "total": serializers.IntegerField(),
    "groups": serializers.DictField(child=serializers.IntegerField()),
    "counts": serializers.ListField(child=serializers.IntegerField()),
    "since": serializers.DateTimeField(), "until": serializers.DateTimeField(),
})


class SurveyMetricsView(AccountApiMixin, APIView):
    """The headline metric of one survey over a period (default: the last 30 days)."""

    @extend_schema(
        parameters=[ACCOUNT_HEADER, OpenApiParameter("since", OpenApiTypes.DATETIME),
                    OpenApiParameter("until", OpenApiTypes.DATETIME)],
        responses={200: MetricsSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("NPS", response_only=True, value={
            "survey": 1, "kind": "nps", "label": "NPS", "value": 42.0, "low": 30.1, "high": 53.9, "margin": 11.9,
            "unit": "", "total": 120, "groups": {"promoter": 70, "passive": 30, "detractor": 20},
            "counts": [2, 1, 3, 2, 4, 3, 5, 10, 20, 30, 40], "since": "2026-01-01T00:00:00Z",
            "until": "2026-01-31T00:00:00Z"})])
    def get(self, request: Request, pk: int) -> ApiResponse:
        survey = get_object_or_404(request.account.surveys, pk=pk)
        field = serializers.DateTimeField()
        bounds: dict[str, datetime | None] = {}
        for name in ("since", "until"):
            value = request.query_params.get(name)
            try:
                bounds[name] = field.to_internal_value(value) if value else None
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({name: exc.detail}) from None
        until = bounds["until"] or timezone.now()
        since = bounds["since"] or until - timedelta(days=30)
        if since > until:
            raise serializers.ValidationError({"since": ["Must be before until."]})
        counts = score_counts(survey=survey, since=since, until=until)
        result = headline(survey.kind, counts)
        return ApiResponse({"survey": survey.pk, "kind": survey.kind, "label": result.label, "value": result.value,
                            "low": result.low, "high": result.high, "margin": result.margin, "unit": result.unit,
                            "total": result.total, "groups": result.groups, "counts": counts,
                            "since": since, "until": until})
