"""OpenAPI 3 description of the Delighted-compatible API (/v1/), merged into /api/schema/.

The /v1/ views are plain Django views (wire.endpoint: Rails-style params, Basic auth), so
drf-spectacular cannot introspect them; this module states their contract by hand
(delighted-api.md §2 and docs/api.md) and ``DelightedSchemaGenerator`` appends it to the generated
schema. Every route also takes a ``.json`` suffix, and form-encoded bodies (PHP), not listed twice.
"""
from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.generators import SchemaGenerator

TAG = "Delighted-compatible API (/v1/)"
UNIX = {"type": "integer", "description": "Unix seconds"}
UNIX_OR_NULL = {"type": "integer", "nullable": True, "description": "Unix seconds"}
STR_OR_NULL = {"type": "string", "nullable": True}  # OpenAPI 3.0 (drf-spectacular)
PROPERTIES = {"type": "object", "additionalProperties": True}

SCHEMAS: dict[str, Any] = {
    "DelightedError": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"},
                       "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                                             "items": {"type": "string"}}}},
        "example": {"status": 422, "message": "Unprocessable Entity", "errors": {"email": ["is invalid"]}},
    },
    "DelightedPersonBrief": {
        "type": "object", "required": ["id", "email", "name", "created_at", "phone_number"],
        "properties": {"id": {"type": "string"}, "email": STR_OR_NULL, "name": STR_OR_NULL,
                       "created_at": UNIX, "phone_number": STR_OR_NULL},
    },
    "DelightedPerson": {
        "type": "object", "required": ["id", "email", "name", "created_at", "phone_number", "last_sent_at"],
        "properties": {"id": {"type": "string"}, "email": STR_OR_NULL, "name": STR_OR_NULL, "created_at": UNIX,
                       "phone_number": STR_OR_NULL, "last_sent_at": UNIX_OR_NULL,
                       "last_responded_at": UNIX_OR_NULL, "next_survey_scheduled_at": UNIX_OR_NULL},
        "example": {"id": "42", "email": "jony@appleseed.com", "name": "Jony", "created_at": 1735689600,
                    "phone_number": None, "last_sent_at": None, "last_responded_at": None,
                    "next_survey_scheduled_at": 1735689600},
    },
    "DelightedPersonCreated": {
        "allOf": [{"$ref": "#/components/schemas/DelightedPersonBrief"}, {
            "type": "object", "properties": {"survey_scheduled_at": UNIX_OR_NULL, "properties": PROPERTIES}}],
        "example": {"id": "42", "email": "jony@appleseed.com", "name": "Jony", "created_at": 1735689600,
                    "phone_number": None, "survey_scheduled_at": 1735689600, "properties": {"Plan": "Pro"}},
    },
    "DelightedSurveyResponse": {
        "type": "object",
        "required": ["id", "person", "survey_type", "score", "comment", "permalink", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "string"},
            "person": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/DelightedPersonBrief"}],
                       "nullable": True,
                       "description": "The person's id, or the person with expand[]=person"},
            "survey_type": {"type": "string"}, "score": {"type": "integer"}, "comment": STR_OR_NULL,
            "permalink": {"type": "string"}, "created_at": UNIX, "updated_at": UNIX,
            "person_properties": {"type": "object", "nullable": True, "additionalProperties": {"type": "string"}},
            "notes": {"type": "array", "items": {"type": "object"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "additional_answers": {"type": "array", "items": {"type": "object"}},
        },
        "example": {"id": "9", "person": "42", "survey_type": "nps", "score": 10, "comment": "Great",
                    "permalink": "https://verbatim.example.com/app/acme/responses/9/", "created_at": 1735689600,
                    "updated_at": 1735689600, "person_properties": {"Plan": "Pro"}, "notes": [], "tags": [],
                    "additional_answers": []},
    },
    "DelightedMetrics": {
        "type": "object", "additionalProperties": {"type": "number"},
        "description": "NPS surveys: the NPS keys as integers. Other kinds (Verbatim extension): response_count, "
                       "<group>_count, <group>_percent, a headline key (ces, csat) and average_score.",
        "example": {"nps": 51, "promoter_count": 32, "promoter_percent": 63, "passive_count": 13,
                    "passive_percent": 25, "detractor_count": 6, "detractor_percent": 12, "response_count": 51},
    },
    "DelightedSuppression": {
        "type": "object", "required": ["person_id", "email", "name"],
        "properties": {"person_id": STR_OR_NULL, "email": {"type": "string"}, "name": STR_OR_NULL,
                       "unsubscribed_at": UNIX, "bounced_at": UNIX},
    },
    "DelightedAutopilot": {
        "type": "object", "required": ["platform_id", "active", "frequency", "created_at", "updated_at"],
        "properties": {"platform_id": {"type": "string"}, "active": {"type": "boolean"},
                       "frequency": {"type": "integer", "description": "seconds between recurring surveys"},
                       "created_at": UNIX, "updated_at": UNIX},
        "example": {"platform_id": "email", "active": True, "frequency": 7776000, "created_at": 1703799458,
                    "updated_at": 1711053458},
    },
    "DelightedMembership": {
        "type": "object", "required": ["created_at", "updated_at", "person", "next_survey_request"],
        "properties": {
            "created_at": UNIX, "updated_at": UNIX,
            "person": {"$ref": "#/components/schemas/DelightedPersonBrief"},
            "next_survey_request": {"type": "object", "nullable": True, "properties": {
                "id": {"type": "string"}, "created_at": UNIX, "survey_scheduled_at": UNIX, "properties": PROPERTIES}},
        },
    },
    "DelightedOk": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def answer(status: int, schema: dict[str, Any], description: str, *, many: bool = False,
           link: bool = False) -> dict[str, Any]:
    body = {"type": "array", "items": schema} if many else schema
    result: dict[str, Any] = {status: {"description": description, "content": {"application/json": {"schema": body}}}}
    if link:
        result[status]["headers"] = {"Link": {"schema": {"type": "string"}, "description":
                                              'Absolute URL of the next page: <...>; rel="next" (none on the last)'}}
    return result


ERRORS = {
    "default": {"description": "401 bad key, 404 unknown id, 406, 422 invalid params (errors names them), "
                               "429 with an integer Retry-After",
                "content": {"application/json": {"schema": ref("DelightedError")}}},
}
PER_PAGE = query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Page size")
PAGE = query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number")
SINCE = query("since", {"type": "integer", "minimum": 0}, "Created at or after (Unix seconds)")
UNTIL = query("until", {"type": "integer", "minimum": 0}, "Created at or before (Unix seconds)")
PAGE_INFO = query("page_info", {"type": "string"}, "Opaque cursor from the Link header")
PLATFORM = {"name": "platform", "in": "path", "required": True, "schema": {"type": "string", "enum": ["email", "sms"]}}


def body(properties: dict[str, Any], example: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {
        "application/json": {"schema": schema, "example": example},
        "application/x-www-form-urlencoded": {"schema": schema}}}


PERSON_BODY = body({
    "email": {"type": "string"}, "phone_number": {"type": "string"}, "name": {"type": "string"},
    "channel": {"type": "string", "enum": ["email", "sms"]}, "send": {"type": "boolean"},
    "delay": {"type": "integer", "minimum": 0}, "last_sent_at": {"type": "integer", "minimum": 0},
    "properties": {"type": "object", "additionalProperties": {"type": "string"}},
    "email_update": {"type": "string"}, "phone_number_update": {"type": "string"},
}, {"email": "jony@appleseed.com", "name": "Jony", "delay": 60, "properties": {"Plan": "Pro"}})
MEMBER_BODY = body({
    "person_email": {"type": "string"}, "person_phone_number": {"type": "string"}, "person_id": {"type": "string"},
    "person_name": {"type": "string"}, "properties": {"type": "object", "additionalProperties": {"type": "string"}},
}, {"person_email": "jony@appleseed.com", "properties": {"Purchase Experience": "Mobile App"}})


def op(summary: str, responses: dict[str, Any], *, parameters: list | None = None,
       request_body: dict | None = None, op_id: str) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [TAG],
                                 "security": [{"delightedBasic": []}, {"apiKey": []}],
                                 "responses": {**{str(k): v for k, v in responses.items()}, **ERRORS}}
    if parameters:
        operation["parameters"] = parameters
    if request_body:
        operation["requestBody"] = request_body
    return operation


def delighted_paths() -> dict[str, Any]:
    """The /v1/ paths (without the optional ``.json`` suffix)."""
    expand = query("expand[]", {"type": "array", "items": {"type": "string", "enum": ["person", "notes"]}},
                   "Expand the person object and/or the response's notes")
    return {
        "/v1/people": {
            "get": op("List people (creation order, cursor pagination)",
                      answer(200, ref("DelightedPerson"), "People", many=True, link=True),
                      parameters=[PER_PAGE, SINCE, UNTIL, PAGE_INFO,
                                  query("email", {"type": "string"}, "Only this email"),
                                  query("phone_number", {"type": "string"}, "Only this phone number")],
                      op_id="v1_people_list"),
            "post": op("Create or update a person, then schedule the survey (after delay unless send=false)",
                       {**answer(201, ref("DelightedPersonCreated"), "Created"),
                        **answer(200, ref("DelightedPersonCreated"), "Updated")},
                       request_body=PERSON_BODY, op_id="v1_people_create"),
            "put": op("Create or update a person without scheduling (Node's save())",
                      {**answer(201, ref("DelightedPersonCreated"), "Created"),
                       **answer(200, ref("DelightedPersonCreated"), "Updated")},
                      request_body=PERSON_BODY, op_id="v1_people_save"),
        },
        "/v1/people/{identifier}": {
            "parameters": [path_param("identifier", "<id>, email:<address> or phone_number:<E.164>")],
            "get": op("Retrieve a person", answer(200, ref("DelightedPerson"), "The person"),
                      op_id="v1_person_retrieve"),
            "delete": op("Erase a person and all their data", answer(202, ref("DelightedOk"), "Accepted"),
                         op_id="v1_person_delete"),
        },
        "/v1/people/{email}/survey_requests/pending": {
            "parameters": [path_param("email", "The person's email")],
            "delete": op("Cancel the person's unsent survey requests", answer(200, ref("DelightedOk"), "Done"),
                         op_id="v1_person_pending_delete"),
        },
        "/v1/survey_responses": {
            "get": op("List survey responses (page-number pagination)",
                      answer(200, ref("DelightedSurveyResponse"), "Responses", many=True),
                      parameters=[PER_PAGE, PAGE, SINCE, UNTIL,
                                  query("updated_since", {"type": "integer", "minimum": 0}, "Updated at or after"),
                                  query("updated_until", {"type": "integer", "minimum": 0}, "Updated at or before"),
                                  query("person_id", {"type": "string"}, "Only this person's responses"),
                                  query("person_email", {"type": "string"}, "Only this person's responses"),
                                  query("trend", {"type": "string"},
                                        "A saved trend's id (/api/v1/trends); an unknown id is a 422 naming trend"),
                                  query("order", {"type": "string", "enum": ["asc", "desc", "asc:updated_at",
                                                                             "desc:updated_at"]}, "Sort order"),
                                  expand],
                      op_id="v1_survey_responses_list"),
            "post": op("Create a survey response", answer(201, ref("DelightedSurveyResponse"), "Created"),
                       request_body=body({"person": {"type": "string"}, "score": {"type": "integer"},
                                          "comment": {"type": "string"}, "created_at": {"type": "integer"},
                                          "person_properties": {"type": "object"}},
                                         {"person": "42", "score": 10, "comment": "Great"}, ["person", "score"]),
                       op_id="v1_survey_responses_create"),
        },
        "/v1/survey_responses/{id}": {
            "parameters": [path_param("id", "The response id")],
            "get": op("Retrieve a survey response", answer(200, ref("DelightedSurveyResponse"), "The response"),
                      parameters=[expand], op_id="v1_survey_response_retrieve"),
            "put": op("Update a survey response (the whole object; read-only and unknown keys ignored)",
                      answer(200, ref("DelightedSurveyResponse"), "Updated"),
                      request_body=body({"person": {"type": "string"}, "score": {"type": "integer"},
                                         "comment": {"type": "string", "nullable": True},
                                         "person_properties": {"type": "object"}}, {"score": 9}),
                      op_id="v1_survey_response_update"),
        },
        "/v1/metrics": {
            "get": op("Metrics of the project (default: 30 days ending at the newest response)",
                      answer(200, ref("DelightedMetrics"), "Metrics"),
                      parameters=[SINCE, UNTIL, query("trend", {"type": "string"}, "A saved trend's id"),
                                  query("groups[]", {"type": "array", "items": {"type": "string", "enum": [
                                      "core", "email", "kiosk", "link", "sms", "web"]}}, "Metric groups")],
                      op_id="v1_metrics_retrieve"),
        },
        "/v1/unsubscribes": {
            "get": op("List unsubscribed people", answer(200, ref("DelightedSuppression"), "Unsubscribes", many=True),
                      parameters=[PER_PAGE, PAGE, SINCE, UNTIL], op_id="v1_unsubscribes_list"),
            "post": op("Unsubscribe an email address", answer(200, ref("DelightedOk"), "Done"),
                       request_body=body({"person_email": {"type": "string"}}, {"person_email": "a@x.com"},
                                         ["person_email"]), op_id="v1_unsubscribes_create"),
        },
        "/v1/bounces": {
            "get": op("List bounced people", answer(200, ref("DelightedSuppression"), "Bounces", many=True),
                      parameters=[PER_PAGE, PAGE, SINCE, UNTIL], op_id="v1_bounces_list"),
        },
        "/v1/autopilot/{platform}": {
            "parameters": [PLATFORM],
            "get": op("The project's Autopilot configuration (404 when none)",
                      answer(200, ref("DelightedAutopilot"), "Autopilot"), op_id="v1_autopilot_retrieve"),
        },
        "/v1/autopilot/{platform}/memberships": {
            "parameters": [PLATFORM],
            "get": op("List Autopilot members (cursor pagination)",
                      answer(200, ref("DelightedMembership"), "Members", many=True, link=True),
                      parameters=[PER_PAGE, PAGE_INFO, query("person_id", {"type": "string"}, "Only this person"),
                                  query("person_email", {"type": "string"}, "Only this person"),
                                  query("person_phone_number", {"type": "string"}, "Only this person"),
                                  query("updated_since", {"type": "integer", "minimum": 0}, "Updated since")],
                      op_id="v1_autopilot_memberships_list"),
            "post": op("Add or update a member: first survey now, then every frequency until removed",
                       answer(200, {"type": "object", "properties": {
                           "person": ref("DelightedPersonBrief"), "properties": PROPERTIES}}, "The member"),
                       request_body=MEMBER_BODY, op_id="v1_autopilot_memberships_add"),
            "delete": op("Remove a member and cancel their scheduled surveys",
                         answer(200, {"type": "object", "properties": {"person": ref("DelightedPersonBrief")}},
                                "Removed"),
                         parameters=[query("person_email", {"type": "string"}, "The member (or in the body)"),
                                     query("person_phone_number", {"type": "string"}, "The member"),
                                     query("person_id", {"type": "string"}, "The member")],
                         op_id="v1_autopilot_memberships_remove"),
        },
    }


def add_delighted_api(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the /v1/ paths, their components, the Basic auth scheme and the tag added."""
    schema = copy.deepcopy(schema)
    schema.setdefault("paths", {}).update(delighted_paths())
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components.setdefault("securitySchemes", {})["delightedBasic"] = {
        "type": "http", "scheme": "basic",
        "description": "The API key as the user name, with or without the colon (Delighted's clients)."}
    schema.setdefault("tags", []).append({"name": TAG, "description": (
        "Delighted's API, unmodified clients welcome: every route also takes a .json suffix; parameters "
        "may come as JSON, a form body with Rails brackets, or the query string; times are Unix seconds.")})
    return schema


class DelightedSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator plus the hand-written /v1/ contract."""

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        return add_delighted_api(super().get_schema(request=request, public=public))
