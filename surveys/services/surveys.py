"""Survey definitions."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.scoping import account_scope
from surveys.models import KIND_SCALES, Survey, SurveyKind


def default_question(kind: str, locale: str = "en") -> str:
    """The standard question of a survey kind, in a locale."""
    with translation.override(locale):
        return {
            SurveyKind.NPS: _("How likely are you to recommend {{company}} to a friend or colleague?"),
            SurveyKind.CES: _("{{company}} made it easy for me to handle my issue."),
            SurveyKind.CSAT: _("How satisfied were you with {{company}}?"),
            SurveyKind.FIVE_STAR: _("How would you rate {{company}}?"),
        }.get(kind, _("How would you rate {{company}}?"))


@transaction.atomic
def create_survey(*, account: Account, name: str, kind: str = SurveyKind.NPS, question: str = "",
                  locale: str | None = None, **fields: Any) -> Survey:
    """Create a survey; the question defaults to the kind's standard wording."""
    if kind not in SurveyKind.values:
        raise ValidationError({"kind": _("Unknown survey kind.")})
    if not name.strip():
        raise ValidationError({"name": _("Give the survey a name.")})
    locale = locale or account.default_locale
    scale = KIND_SCALES.get(kind) or (fields.pop("scale_min", 0), fields.pop("scale_max", 10))
    fields.pop("scale_min", None)
    fields.pop("scale_max", None)
    question = (question or default_question(kind, locale)).strip()
    if not question:
        raise ValidationError({"question": _("A survey needs a question.")})
    placeholder_defaults = {"company": account.name, **fields.pop("placeholder_defaults", {})}
    survey = Survey(account=account, name=name.strip(), kind=kind, question=question, locale=locale,
                    scale_min=scale[0], scale_max=scale[1], placeholder_defaults=placeholder_defaults,
                    **fields)
    survey.full_clean(exclude=["account"])
    survey.save()
    return survey


def create_default_survey(account: Account) -> Survey:
    """Every account starts with a sendable NPS survey (the Delighted API's default 'project')."""
    with account_scope(account):
        existing = account.surveys.filter(is_default=True).first()
        if existing:
            return existing
        return create_survey(account=account, name=_("Net Promoter Score"), kind=SurveyKind.NPS,
                             is_default=True)
