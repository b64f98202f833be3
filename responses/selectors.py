"""Reads that feed the respondent pages and the admin feed."""
from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from responses.models import Answer, Response
from surveys.models import Invitation, Question, Survey

PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")


def fill_placeholders(text: str, *, survey: Survey, invitation: Invitation | None = None,
                      properties: dict[str, Any] | None = None) -> str:
    """Replace ``{{name}}`` with the invitation's / person's properties, then the survey's defaults."""
    values = {**survey.placeholder_defaults}
    if invitation is not None:
        values.update(invitation.person.properties or {})
        values.update(invitation.properties or {})
    values.update(properties or {})
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), text)


def questions_for_page(survey: Survey, *, group: str | None, response: Response | None = None,
                       posted: dict[int, Any] | None = None) -> list[dict[str, Any]]:
    """What the page shows for each extra question: shown or hidden for the group, current values."""
    existing = {}
    if response is not None:
        existing = {a.question_id: a for a in Answer.objects.filter(response=response)}
    rows = []
    cached = getattr(survey, "_questions_cache", None)  # read with the token (responses.services)
    for question in survey.questions.all() if cached is None else cached:
        answer = existing.get(question.pk)
        value: Any = answer.value if answer else None
        other = answer.other_text if answer else ""
        if posted is not None and question.pk in posted:
            raw = posted[question.pk]
            value, other = (raw.get("value"), raw.get("other", "")) if isinstance(raw, dict) else (raw, "")
        values = value if isinstance(value, list) else [] if value is None else [value]
        shown = question.shown_to(group) if group else question.show_to == Question.ShowTo.ALL
        rows.append({
            "q": question, "name": f"q{question.pk}", "hidden": not shown,
            "values": [str(v).lower() if isinstance(v, bool) else str(v) for v in values],
            "other": other, "scale": range(question.scale_min, question.scale_max + 1),
        })
    return rows


def score_groups(survey: Survey) -> dict[int, str]:
    return {score: survey.group_of(score) for score in survey.scores}


def filtered_responses(account: Account, *, survey: Survey | None = None, group: str = "", comment: str = "",
                       bots: str = "") -> QuerySet[Response]:
    """The admin feed: newest first, filtered by survey, score group, comment and scanner flag."""
    qs = account.responses.select_related("survey", "person", "account").order_by("-created_at", "-id")
    if survey is not None:
        qs = qs.filter(survey=survey)
    if group:
        condition = Q(pk__in=[])
        for each in ([survey] if survey else account.surveys.all()):
            scores = [s for s, g in score_groups(each).items() if g == group]
            condition |= Q(survey=each, score__in=scores)
        qs = qs.filter(condition)
    if comment == "yes":
        qs = qs.exclude(comment="")
    elif comment == "no":
        qs = qs.filter(comment="")
    if bots == "hide":
        qs = qs.filter(suspected_bot=False)
    elif bots == "only":
        qs = qs.filter(suspected_bot=True)
    return qs


def response_detail(response: Response) -> dict[str, Any]:
    answers = list(Answer.objects.filter(response=response).select_related("question").order_by("question__position"))
    for answer in answers:
        value = answer.value
        answer.display = (_("Yes") if value else _("No")) if isinstance(value, bool) else \
            ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return {"response": response, "answers": answers, "group": response.group}
