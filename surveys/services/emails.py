"""The survey email: placeholders, the score buttons, the unsubscribe headers, in the survey's locale.

Placeholder rule (decided): ``{{name}}`` takes the invitation's properties, then the person's, then
the survey's ``placeholder_defaults``. Scheduling refuses a placeholder none of them fills (a clear
error naming it); if data changed by send time, the placeholder's name is shown in its place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from surveys.models import Invitation, Person, Survey

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
SUPPORTED_LOCALES = {code for code, _name in settings.LANGUAGES}
# Delighted-compatible invitation properties that change the email rather than fill placeholders.
SPECIAL_PROPERTIES = ("delighted_email_subject", "delighted_intro_message", "question_product_name", "locale")


def placeholder_values(*, survey: Survey, person: Person | None, properties: dict[str, Any] | None) -> dict[str, str]:
    values: dict[str, Any] = {**(survey.placeholder_defaults or {})}
    if person is not None:
        values.update({"name": person.name, "email": person.email or ""})
        values.update(person.properties or {})
    values.update(properties or {})
    if (properties or {}).get("question_product_name"):
        values["company"] = properties["question_product_name"]
    return {str(k): str(v) for k, v in values.items() if v not in (None, "")}


def missing_placeholders(text: str, values: dict[str, str]) -> list[str]:
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text or "") if m.group(1) not in values})


def fill_placeholders(text: str, *, survey: Survey, person: Person | None = None,
                      properties: dict[str, Any] | None = None) -> str:
    """Text with every ``{{property}}`` filled (see the module docstring for the order and fallback)."""
    values = placeholder_values(survey=survey, person=person, properties=properties)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(1).replace("_", " ")), text or "")


def check_placeholders(*, survey: Survey, person: Person | None, properties: dict[str, Any] | None) -> None:
    """Raise ValidationError naming each placeholder of the survey's texts that nothing fills."""
    values = placeholder_values(survey=survey, person=person, properties=properties)
    texts = [survey.question, survey.email_subject, survey.email_intro]
    missing = sorted({name for text in texts for name in missing_placeholders(text, values)})
    if missing:
        raise ValidationError({"properties": _(
            "No value for %(names)s: give the person or the invitation this property, or set a fallback "
            "value on the survey.") % {"names": ", ".join("{{" + n + "}}" for n in missing)}})


def invitation_locale(invitation: Invitation) -> str:
    locale = (invitation.properties or {}).get("locale") or invitation.survey.locale or "en"
    locale = str(locale).replace("_", "-").split("-")[0].lower()
    return locale if locale in SUPPORTED_LOCALES else "en"


def sending_domain(from_email: str) -> str:
    address = from_email.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] or "localhost"


# Letters only, so HTML escaping leaves them alone; tokens and signed ids are URL-safe (no escaping either).
TOKEN_SENTINEL = "VERBATIMTOKENSENTINEL"
UNSUB_SENTINEL = "VERBATIMUNSUBSCRIBESENTINEL"
_RENDERED: dict[tuple, tuple[str, str]] = {}


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def render_invitation(*, invitation: Invitation, raw_token: str | None, preview: bool = False) -> RenderedEmail:
    """Subject, plain text and HTML of an invitation, in its locale. ``raw_token`` None: a preview."""
    from surveys.services.suppressions import unsubscribe_token

    survey, person, account = invitation.survey, invitation.person, invitation.account
    props = invitation.properties or {}
    site = settings.SITE_URL
    token = raw_token or "preview"
    unsubscribe_url = f"{site}/u/{unsubscribe_token(account_id=account.pk, person_id=person.pk or 0)}"
    locale = invitation_locale(invitation)
    with translation.override(locale):
        subject_text = props.get("delighted_email_subject") or survey.email_subject or _(
            "How are we doing? A quick question from {{company}}")
        intro_text = props.get("delighted_intro_message") or survey.email_intro or _(
            "We would love to hear what you think. It takes one click.")
        question = fill_placeholders(survey.question, survey=survey, person=person, properties=props)
        intro = fill_placeholders(intro_text, survey=survey, person=person, properties=props)
        subject = fill_placeholders(subject_text, survey=survey, person=person, properties=props)
        # Render once per distinct (texts, look) with sentinels, then put this message's links in:
        # a batch of one survey renders its templates once instead of once per message.
        key = (locale, question, intro, site, preview, account.pk, account.name, account.brand_color,
               account.logo.name if account.logo else "", survey.pk, survey.scale_min, survey.scale_max,
               survey.low_label, survey.high_label)
        cached = _RENDERED.get(key)
        if cached is None:
            context = {
                "account": account, "survey": survey, "question": question, "intro": intro,
                "scores": [{"value": s, "url": f"{site}/r/{TOKEN_SENTINEL}/{s}"} for s in survey.scores],
                "survey_url": f"{site}/r/{TOKEN_SENTINEL}", "unsubscribe_url": f"{site}/u/{UNSUB_SENTINEL}",
                "brand_color": account.brand_color, "low_label": survey.low_label, "high_label": survey.high_label,
                "preview": preview, "site_url": site, "LANGUAGE_CODE": locale,
            }
            cached = (render_to_string("surveys/emails/invitation.txt", context),
                      render_to_string("surveys/emails/invitation.html", context))
            if len(_RENDERED) > 512:
                _RENDERED.clear()
            _RENDERED[key] = cached
    unsub = unsubscribe_url.rsplit("/u/", 1)[1]
    text, html = (part.replace(TOKEN_SENTINEL, token).replace(UNSUB_SENTINEL, unsub) for part in cached)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html, unsubscribe_url=unsubscribe_url)


def build_message(*, invitation: Invitation, raw_token: str, attempt: int, connection: Any = None) -> AnymailMessage:
    """The message object: anymail metadata, our headers, a deterministic Message-ID (EM-22)."""
    rendered = render_invitation(invitation=invitation, raw_token=raw_token)
    from_email = invitation.account.from_email
    message = AnymailMessage(
        subject=rendered.subject, body=rendered.text, from_email=from_email, to=[invitation.person.email],
        connection=connection,
        headers={
            "Message-ID": f"<inv-{invitation.pk}.{attempt}@{sending_domain(from_email)}>",
            "X-Verbatim-Invitation": str(invitation.pk),
            "X-Verbatim-Account": str(invitation.account_id),
            "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    message.metadata = {"account_id": str(invitation.account_id), "invitation_id": str(invitation.pk)}
    message.tags = ["survey-invitation"]
    return message
