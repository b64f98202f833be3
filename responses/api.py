"""REST API of responses (/api/v1/responses): list with filters, retrieve; answers and tags included."""
from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from accounts.api import ACCOUNT_HEADER, ERROR_RESPONSES, AccountViewSet
from responses.models import Answer, Response
from surveys.api import DATE_FILTERS, date_filtered
from surveys.models import ScoreGroup

PROPERTY_PARAM = re.compile(r"^properties\[([^\[\]]{1,100})\]$")


class AnswerSerializer(serializers.ModelSerializer):
    question_text = serializers.CharField(source="question.text", read_only=True)

    class Meta:
        model = Answer
        fields = ["question", "question_text", "value", "other_text", "updated_at"]
        read_only_fields = fields


class ResponseSerializer(serializers.ModelSerializer):
    answers = AnswerSerializer(many=True, read_only=True)
    group = serializers.CharField(read_only=True, help_text="promoter, passive or detractor for the survey's kind.")
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    properties = serializers.DictField(read_only=True)

    class Meta:
        model = Response
        fields = ["id", "survey", "person", "invitation", "score", "group", "comment", "channel", "properties",
                  "locale", "tags", "suspected_bot", "created_at", "updated_at", "completed_at", "answers"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[ACCOUNT_HEADER, *DATE_FILTERS,
                    OpenApiParameter("survey", OpenApiTypes.INT, description="Only this survey's responses."),
                    OpenApiParameter("group", OpenApiTypes.STR, enum=ScoreGroup.values,
                                     description="Score group for each survey's kind."),
                    OpenApiParameter("tag", OpenApiTypes.STR, description="Only responses with this tag."),
                    OpenApiParameter("person", OpenApiTypes.INT),
                    OpenApiParameter("properties[<name>]", OpenApiTypes.STR,
                                     description="Property filter, e.g. properties[plan]=pro (repeatable).")],
        responses={200: ResponseSerializer, **ERROR_RESPONSES}),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: ResponseSerializer, **ERROR_RESPONSES}),
)
class ResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountViewSet):
    """Responses of the account, newest first (cursor pagination), with their answers and tags."""

    serializer_class = ResponseSerializer
    queryset = Response.objects.none()

    def scoped_queryset(self) -> QuerySet[Response]:
        params = self.request.query_params
        account = self.request.account
        rows = account.responses.select_related("survey").prefetch_related("answers__question")
        for name, lookup in (("survey", "survey_id"), ("person", "person_id")):
            value = params.get(name)
            if value:
                rows = rows.filter(**{lookup: int(value)}) if value.isdigit() and len(value) < 19 else rows.none()
        group = params.get("group")
        if group:
            if group not in ScoreGroup.values:
                raise serializers.ValidationError({"group": [f"Use one of {', '.join(ScoreGroup.values)}."]})
            condition = Q(pk__in=[])
            for survey in account.surveys.all():
                condition |= Q(survey=survey, score__in=[s for s in survey.scores if survey.group_of(s) == group])
            rows = rows.filter(condition)
        if params.get("tag"):
            rows = rows.filter(tags__contains=[params["tag"]])
        for key, value in params.items():
            match = PROPERTY_PARAM.match(key)
            if match:
                rows = rows.filter(properties__contains={match.group(1): value})
        return date_filtered(self.request, rows)
