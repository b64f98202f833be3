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


EDITABLE_FIELDS = ("name", "question", "low_label", "high_label", "locale", "placeholder_defaults", "email_subject",
                   "email_intro", "thank_you", "redirect_url", "scale_min", "scale_max")


@transaction.atomic
def update_survey(*, survey: Survey, **fields: Any) -> Survey:
    """Change a survey's texts and settings; the kind's scale stays unless the kind is custom."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed.")})
    if survey.kind != SurveyKind.CUSTOM:
        fields.pop("scale_min", None)
        fields.pop("scale_max", None)
    for key, value in fields.items():
        setattr(survey, key, value.strip() if isinstance(value, str) and key != "email_intro" else value)
    if not (survey.question or "").strip():
        raise ValidationError({"question": _("A survey needs a question.")})
    if not (survey.name or "").strip():
        raise ValidationError({"name": _("Give the survey a name.")})
    survey.full_clean(exclude=["account"])
    survey.save()
    return survey


def _set_status(survey: Survey, status: str) -> Survey:
    Survey.objects.filter(pk=survey.pk, account_id=survey.account_id).update(status=status)
    survey.status = status
    return survey


def pause_survey(*, survey: Survey) -> Survey:
    """Stop sending this survey: its scheduled invitations are cancelled when they come due."""
    return _set_status(survey, Survey.Status.PAUSED)


def resume_survey(*, survey: Survey) -> Survey:
    return _set_status(survey, Survey.Status.ACTIVE)


@transaction.atomic
def archive_survey(*, survey: Survey) -> Survey:
    """Archive: no more sends; scheduled invitations are cancelled now. Responses stay."""
    from surveys.services.suppressions import cancel_pending_invitations

    cancel_pending_invitations(survey=survey)
    return _set_status(survey, Survey.Status.ARCHIVED)
