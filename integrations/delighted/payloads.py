"""The JSON shapes of Delighted objects (delighted-api.md §2.17): ids as strings, Unix-second times."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from integrations.delighted.wire import unix
from responses.models import Answer, Response, ResponseNote
from surveys.models import Invitation, Person, Question, SurveyKind

SURVEY_TYPES = {SurveyKind.NPS: "nps", SurveyKind.CES: "ces7", SurveyKind.CSAT: "csat",
                SurveyKind.FIVE_STAR: "stars_five", SurveyKind.CUSTOM: "custom"}
ANSWER_TYPES = {Question.Kind.SINGLE: "select_one", Question.Kind.YES_NO: "select_one",
                Question.Kind.MULTIPLE: "select_many", Question.Kind.SCALE: "scale"}


def with_next_scheduled(people: QuerySet[Person]) -> QuerySet[Person]:
    """Annotate ``next_scheduled`` (the earliest pending invitation) without a join per row."""
    pending = (Invitation.objects.filter(person=OuterRef("pk"), status=Invitation.Status.SCHEDULED)
               .order_by("scheduled_at").values("scheduled_at")[:1])
    return people.annotate(next_scheduled=Subquery(pending))


def person_payload(person: Person, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(person.pk), "email": person.email, "name": person.name or None,
                            "created_at": unix(person.created_at), "phone_number": person.phone_number}
    if full:
        data["last_sent_at"] = unix(person.last_surveyed_at)
        data["last_responded_at"] = unix(person.last_responded_at)
        data["next_survey_scheduled_at"] = unix(getattr(person, "next_scheduled", None))
    return data


def _option(question: Question, value: Any) -> dict[str, str]:
    choices = [str(c) for c in question.choices or []]
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    text = str(value)
    option_id = str(choices.index(text)) if text in choices else text
    return {"id": option_id, "text": text}


def answer_payload(answer: Answer) -> dict[str, Any]:
    question = answer.question
    kind = ANSWER_TYPES.get(question.kind, "free_response")
    value: dict[str, Any] = {"free_response": None, "scale": None, "select_one": None, "select_many": None}
    if kind == "select_one":
        value["select_one"] = _option(question, answer.value)
    elif kind == "select_many":
        value["select_many"] = [_option(question, v) for v in (answer.value if isinstance(answer.value, list)
                                                                else [answer.value])]
    elif kind == "scale":
        value["scale"] = int(answer.value)
    else:
        value["free_response"] = str(answer.value)
    return {"id": str(answer.pk), "value": value,
            "question": {"id": str(question.pk), "type": kind, "text": question.text}}


SENTINEL_PK = 987654321987


def permalink_template(request: HttpRequest, account: Any) -> str:
    """The absolute URL of a response page with ``{pk}`` in place of the id (one reverse per request)."""
    try:
        path = reverse("responses:response-detail", kwargs={"account": account.slug, "pk": SENTINEL_PK})
    except NoReverseMatch:  # the responses pages are written by another helper; same path either way
        path = f"/app/{account.slug}/responses/{SENTINEL_PK}/"
    return request.build_absolute_uri(path).replace(str(SENTINEL_PK), "{pk}")


def note_payload(note: ResponseNote) -> dict[str, Any]:
    """A Delighted Note: ``{id, text, user_email, created_at}``."""
    return {"id": str(note.pk), "text": note.body, "user_email": note.author.email if note.author else None,
            "created_at": unix(note.created_at)}


def _payload(response: Response, expand: set[str], answers: list[Answer], link: str,
             notes: list[ResponseNote] | None = None) -> dict[str, Any]:
    if response.person_id is None:
        person_value: Any = None
    elif "person" in expand:
        person_value = person_payload(response.person, full=False)
    else:
        person_value = str(response.person_id)
    return {
        "id": str(response.pk),
        "person": person_value,
        "survey_type": SURVEY_TYPES.get(response.survey.kind, response.survey.kind),
        "score": response.score,
        "comment": response.comment or None,
        "permalink": link.format(pk=response.pk),
        "created_at": unix(response.created_at),
        "updated_at": unix(response.updated_at or response.created_at),
        "person_properties": {str(k): "" if v is None else str(v) for k, v in response.properties.items()} or None,
        "notes": [note_payload(n) for n in notes or []],
        "tags": list(response.tags or []),
        "additional_answers": [answer_payload(a) for a in answers],
    }


def response_payloads(request: HttpRequest, responses: Iterable[Response], *, expand: set[str]) -> list[dict]:
    """SurveyResponses; ``expand`` may hold "person" (a Person object instead of its id) and "notes" (Note objects).

    Three queries whatever the page size: the rows (with survey, and person when expanded), their
    answers with questions, and nothing per row (one reverse() for every permalink).
    """
    rows = list(responses)
    if not rows:
        return []
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in (Answer.objects.filter(account_id=request.account.pk, response_id__in=[r.pk for r in rows])
                   .select_related("question").order_by("id")):
        answers[answer.response_id].append(answer)
    notes: dict[int, list[ResponseNote]] = defaultdict(list)
    if "notes" in expand:  # one more query, only when asked for
        for note in (ResponseNote.objects.filter(account_id=request.account.pk, response_id__in=[r.pk for r in rows])
                     .select_related("author").order_by("created_at", "id")):
            notes[note.response_id].append(note)
    link = permalink_template(request, request.account)
    return [_payload(r, expand, answers[r.pk], link, notes.get(r.pk)) for r in rows]


def response_payload(request: HttpRequest, response: Response, *, expand: set[str]) -> dict[str, Any]:
    return response_payloads(request, [response], expand=expand)[0]


def responses_for_payload(responses: QuerySet[Response], expand: set[str] = frozenset({"person"})) -> QuerySet:
    return responses.select_related("survey", *(("person",) if "person" in expand else ()))
