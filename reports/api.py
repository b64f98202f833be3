"""REST API of reports: metrics (/api/v1/surveys/<pk>/metrics), the dashboards' numbers with margins of error,
and agents' self-assessments (/api/v1/self-assessments)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from accounts.api import (
    ACCOUNT_HEADER,
    ERROR_RESPONSES,
    IDEMPOTENCY_HEADER,
    AccountApiMixin,
    AccountViewSet,
    IdempotentCreateMixin,
    StrictCharField,
    StrictIntegerField,
)
from integrations.delighted.services import score_counts
from reports import services
from reports.metrics import headline
from reports.models import SelfAssessment

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
                # Absent: the default. Present, even empty ("?since="): a date-time, else a 400 naming it.
                bounds[name] = field.to_internal_value(value) if value is not None else None
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


class SelfAssessmentSerializer(serializers.ModelSerializer):
    agent = StrictCharField(max_length=200, help_text="The agent, as in the responses' `agent` property.")
    survey = StrictIntegerField(source="survey_id", min_value=1, max_value=2**31 - 1,
                                help_text="Id of one of the account's surveys: the score is on its scale.")
    score = StrictIntegerField(min_value=0, max_value=10, help_text="On the survey's scale (NPS 0-10, CES 1-7...).")
    interaction = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                                  help_text="Optional reference of the rated interaction (ticket id...).")
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")

    class Meta:
        model = SelfAssessment
        fields = ["id", "agent", "survey", "score", "interaction", "comment", "created_at"]
        read_only_fields = ["id", "created_at"]


@extend_schema_view(
    list=extend_schema(parameters=[ACCOUNT_HEADER, OpenApiParameter("agent", OpenApiTypes.STR),
                                   OpenApiParameter("survey", OpenApiTypes.INT)],
                       responses={200: SelfAssessmentSerializer, **ERROR_RESPONSES}),
    create=extend_schema(parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER],
                         responses={201: SelfAssessmentSerializer, **ERROR_RESPONSES},
                         examples=[OpenApiExample("A ticket rated by its agent", request_only=True, value={
                             "agent": "Ana", "survey": 1, "score": 8, "interaction": "T-1042"})]),
)
class SelfAssessmentViewSet(IdempotentCreateMixin, mixins.ListModelMixin, AccountViewSet):
    """Agents' self-assessments: an agent's own score of an interaction, set beside their customers' score
    on the agent scorecards. Newest first; filter by ``agent`` and ``survey``."""

    serializer_class = SelfAssessmentSerializer
    queryset = SelfAssessment.objects.none()

    def scoped_queryset(self) -> QuerySet[SelfAssessment]:
        rows = self.request.account.self_assessments.all()
        agent = self.request.query_params.get("agent")
        if agent:
            rows = rows.filter(agent=agent.strip())
        survey = self.request.query_params.get("survey")
        if survey:
            rows = rows.filter(survey_id=int(survey))
        return rows

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.record_self_assessment(
            account=self.request.account, survey_id=data["survey_id"], agent=data["agent"], score=data["score"],
            interaction=data.get("interaction", ""), comment=data.get("comment", ""))
