"""REST API of responses (/api/v1/responses): list with filters, retrieve, notes, tags; and follow-up cases.

Notes, tags and case changes go through the services of ``responses.cases`` (the same as the pages).
"""
from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from accounts.api import (
    ACCOUNT_HEADER,
    ERROR_RESPONSES,
    IDEMPOTENCY_HEADER,
    AccountViewSet,
    StrictCharField,
    idempotent,
)
from accounts.jsonq import has_properties, has_tags
from responses import cases
from responses.models import Answer, Case, Response, ResponseNote
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


def acting_user(request: Request) -> Any:
    """The Django user behind a session request; None for an API key (keys act for the account)."""
    return request.user if isinstance(request.user, get_user_model()) else None


def strict_body(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The validated JSON object of a write; a non-object or an unknown field is a 400 naming it."""
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    unknown = sorted(set(request.data) - set(serializer_class().fields))
    if unknown:
        raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class NoteSerializer(serializers.ModelSerializer):
    author_email = serializers.CharField(source="author.email", read_only=True, allow_null=True,
                                         help_text="Who wrote it; null when written with an API key.")

    class Meta:
        model = ResponseNote
        fields = ["id", "response", "case", "kind", "body", "author_email", "created_at"]
        read_only_fields = fields


class NewNoteSerializer(serializers.Serializer):
    body = StrictCharField(max_length=cases.MAX_NOTE, help_text="The note (plain text).")


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(child=StrictCharField(max_length=cases.MAX_TAG), max_length=cases.MAX_TAGS,
                                 help_text="The whole new list (replaces the old one); lower-cased, unique.")


NOTE_EXAMPLE = {"id": 12, "response": 345, "case": None, "kind": "note", "body": "Called back, fixed the invoice.",
                "author_email": None, "created_at": "2026-01-01T00:00:00Z"}
NOTES_GET = extend_schema(methods=["GET"], parameters=[ACCOUNT_HEADER], request=None,
                          responses={200: NoteSerializer(many=True), **ERROR_RESPONSES},
                          examples=[OpenApiExample("Notes", value=[NOTE_EXAMPLE], response_only=True)])
NOTES_POST = extend_schema(methods=["POST"], parameters=[ACCOUNT_HEADER, IDEMPOTENCY_HEADER], request=NewNoteSerializer,
                           responses={201: NoteSerializer, **ERROR_RESPONSES},
                           examples=[OpenApiExample("A note", value={"body": "Called back, fixed the invoice."},
                                                    request_only=True),
                                     OpenApiExample("Added", value=NOTE_EXAMPLE, response_only=True,
                                                    status_codes=["201"])])


def notes_answer(request: Request, response: Response) -> ApiResponse:
    """GET: the response's notes, oldest first. POST: add one (on its case's history too)."""
    if request.method == "POST":
        data = strict_body(request, NewNoteSerializer)

        def add() -> ApiResponse:
            note = cases.add_response_note(response=response, body=data["body"], by=acting_user(request))
            return ApiResponse(NoteSerializer(note).data, status=201)

        return idempotent(request, add)
    notes = request.account.response_notes.filter(response=response).select_related("author")
    return ApiResponse(NoteSerializer(notes, many=True).data)


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
                rows = rows.filter(**{lookup: int(value)}) if value.isdecimal() and len(value) < 19 else rows.none()
        if "group" in params:  # an empty value is a 400 (the schema's enum), never "no filter"
            group = params["group"]
            if group not in ScoreGroup.values:
                raise serializers.ValidationError({"group": [f"Use one of {', '.join(ScoreGroup.values)}."]})
            condition = Q(pk__in=[])
            for survey in account.surveys.all():
                condition |= Q(survey=survey, score__in=[s for s in survey.scores if survey.group_of(s) == group])
            rows = rows.filter(condition)
        if params.get("tag"):
            rows = rows.filter(has_tags("tags", [params["tag"]]))
        for key, value in params.items():
            match = PROPERTY_PARAM.match(key)
            if match:
                rows = rows.filter(has_properties("properties", {match.group(1): value}))
        return date_filtered(self.request, rows)

    @NOTES_GET
    @NOTES_POST
    @action(detail=True, methods=["get", "post"], url_path="notes", url_name="notes",
            pagination_class=None)  # a plain list (docs/api.md); without this the schema says paginated
    def notes(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Notes on this response: list them (oldest first) or add one."""
        return notes_answer(request, self.get_object())

    @extend_schema(parameters=[ACCOUNT_HEADER], request=TagsSerializer,
                   responses={200: ResponseSerializer, **ERROR_RESPONSES},
                   examples=[OpenApiExample("New tags", value={"tags": ["billing", "vip"]}, request_only=True)])
    @action(detail=True, methods=["put"], url_path="tags", url_name="tags")
    def tags(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Replace this response's tags with the list sent (an empty list removes them all)."""
        response = self.get_object()
        data = strict_body(request, TagsSerializer)
        response = cases.set_response_tags(response=response, tags=data["tags"], by=acting_user(request))
        return ApiResponse(ResponseSerializer(response).data)


class CaseSerializer(serializers.ModelSerializer):
    overdue = serializers.BooleanField(source="is_overdue", read_only=True,
                                       help_text="Open and past its due time.")

    class Meta:
        model = Case
        fields = ["id", "response", "person", "group", "status", "assignee", "assignee_email", "contact_channel",
                  "due_at", "overdue", "experiment", "holdout", "created_at", "updated_at", "contacted_at",
                  "closed_at"]
        read_only_fields = fields


class CaseStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Case.Status.choices)
    channel = serializers.ChoiceField(choices=Case.ContactChannel.choices, required=False, default="",
                                      help_text="How the customer was reached (phone or email); empty: unchanged.")


CASE_EXAMPLE = {"id": 9, "response": 345, "person": 71, "group": "detractor", "status": "contacted", "assignee": 2,
                "assignee_email": "", "contact_channel": "phone", "due_at": "2026-01-02T09:00:00Z", "overdue": False,
                "experiment": False, "holdout": False, "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T10:00:00Z", "contacted_at": "2026-01-01T10:00:00Z", "closed_at": None}
BOOLEAN_PARAM = {"true": True, "false": False}


@extend_schema_view(
    list=extend_schema(
        parameters=[ACCOUNT_HEADER,
                    OpenApiParameter("status", OpenApiTypes.STR, enum=Case.Status.values),
                    OpenApiParameter("assignee", OpenApiTypes.STR,
                                     description="A member's user id, or `none` for unassigned cases."),
                    OpenApiParameter("overdue", OpenApiTypes.STR, enum=["true", "false"],
                                     description="true: open and past due; false: the others.")],
        responses={200: CaseSerializer, **ERROR_RESPONSES},
        examples=[OpenApiExample("A case", value=CASE_EXAMPLE, response_only=True)]),
    retrieve=extend_schema(parameters=[ACCOUNT_HEADER], responses={200: CaseSerializer, **ERROR_RESPONSES},
                           examples=[OpenApiExample("A case", value=CASE_EXAMPLE, response_only=True)]),
)
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountViewSet):
    """Follow-up cases (close the loop), newest first; change their status and add notes."""

    serializer_class = CaseSerializer
    queryset = Case.objects.none()

    def scoped_queryset(self) -> QuerySet[Case]:
        params = self.request.query_params
        rows = self.request.account.cases.select_related("response")
        if "status" in params:  # an empty value is a 400 too, never "no filter"
            status = params["status"]
            if status not in Case.Status.values:
                raise serializers.ValidationError({"status": [f"Use one of {', '.join(Case.Status.values)}."]})
            rows = rows.filter(status=status)
        if "assignee" in params:
            assignee = params["assignee"]
            if assignee == "none":
                rows = rows.filter(assignee__isnull=True, assignee_email="")
            elif assignee.isdecimal() and len(assignee) < 19:
                rows = rows.filter(assignee_id=int(assignee))
            else:
                raise serializers.ValidationError({"assignee": ["Give a user id or none."]})
        if "overdue" in params:
            overdue = params["overdue"]
            if overdue not in BOOLEAN_PARAM:
                raise serializers.ValidationError({"overdue": ["Use true or false."]})
            late = Q(status=Case.Status.OPEN, due_at__isnull=False, due_at__lte=timezone.now())
            rows = rows.filter(late) if BOOLEAN_PARAM[overdue] else rows.exclude(late)
        return rows

    @extend_schema(parameters=[ACCOUNT_HEADER], request=CaseStatusSerializer,
                   responses={200: CaseSerializer, **ERROR_RESPONSES},
                   examples=[OpenApiExample("Called back", value={"status": "contacted", "channel": "phone"},
                                            request_only=True),
                             OpenApiExample("The case", value=CASE_EXAMPLE, response_only=True)])
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def status(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Mark the case open, contacted, resolved or won't fix (with the channel of contact)."""
        case = self.get_object()
        data = strict_body(request, CaseStatusSerializer)
        case = cases.change_case_status(case=case, status=data["status"], channel=data.get("channel", ""),
                                        by=acting_user(request))
        return ApiResponse(CaseSerializer(case).data)

    @NOTES_GET
    @NOTES_POST
    @action(detail=True, methods=["get", "post"], url_path="notes", url_name="notes",
            pagination_class=None)  # a plain list (docs/api.md); without this the schema says paginated
    def notes(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Notes on the case's response: list them (oldest first) or add one (recorded in the case's history)."""
        return notes_answer(request, self.get_object().response)
