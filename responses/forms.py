"""Parsing the respondent form and the admin feed's filters (rules live in services)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from responses.services import OTHER, clean_properties
from surveys.models import Question, ScoreGroup, Survey

RESERVED_PARAMS = {"score", "locale", "lang"}
HONEYPOT_FIELD = "website"  # invisible to people; bots fill it


def answers_from_post(data: QueryDict, questions: list[Question]) -> dict[int, Any]:
    """Form fields ``q<id>`` (and ``q<id>_other``) -> the answers ``record_answers`` takes.

    Disabled (hidden) questions are not posted by browsers, so only shown ones appear.
    """
    answers: dict[int, Any] = {}
    for question in questions:
        name = f"q{question.pk}"
        if name not in data and f"{name}_other" not in data:
            continue
        if question.kind == Question.Kind.MULTIPLE:
            value: Any = data.getlist(name)
        else:
            value = data.get(name, "")
        other = data.get(f"{name}_other", "")
        if question.allow_other and other.strip() and not value:
            value = [OTHER] if question.kind == Question.Kind.MULTIPLE else OTHER  # typed without ticking
        answers[question.pk] = {"value": value, "other": other} if question.allow_other else value
    return answers


def link_properties(query: QueryDict) -> dict[str, Any]:
    """Query parameters of a link survey become properties (validated: count and size)."""
    return clean_properties({key: query.get(key) for key in query if key not in RESERVED_PARAMS})


class ResponseFilterForm(forms.Form):
    """The admin feed's filters; the survey choices come from the request's account."""

    survey = forms.ModelChoiceField(label=_("Survey"), queryset=Survey.objects.none(), required=False)
    group = forms.ChoiceField(label=_("Score group"), required=False,
                              choices=[("", _("All"))] + list(ScoreGroup.choices))
    comment = forms.ChoiceField(label=_("Comment"), required=False,
                                choices=[("", _("All")), ("yes", _("With a comment")), ("no", _("Without"))])
    bots = forms.ChoiceField(label=_("Suspected scanners"), required=False,
                             choices=[("", _("Shown, flagged")), ("hide", _("Hidden")), ("only", _("Only these"))])

    def __init__(self, *args: Any, account: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = account.surveys.order_by("name")
