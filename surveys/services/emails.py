"""The survey email: placeholders, the score buttons, the unsubscribe headers, in the survey's locale.

Placeholder rule (decided): ``{{name}}`` takes the invitation's properties, then the person's, then
the survey's ``placeholder_defaults``. Scheduling refuses a placeholder none of them fills (a clear
error naming it); if data changed by send time, the placeholder's name is shown in its place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate
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
_DEFAULT_TEXTS: dict[str, tuple[str, str]] = {}


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def _render_parts(*, invitation: Invitation, preview: bool) -> tuple[str, tuple, tuple[str, str], str]:
    """(subject, render key, (text, html) with link sentinels, unsubscribe token) of an invitation.

    The templates are rendered once per distinct (texts, look) with sentinels in place of the links:
    a batch of one survey renders them once instead of once per message.
    """
    from surveys.services.suppressions import unsubscribe_token

    survey, person, account = invitation.survey, invitation.person, invitation.account
    props = invitation.properties or {}
    site = settings.SITE_URL
    unsub = unsubscribe_token(account_id=account.pk, person_id=person.pk or 0)
    locale = invitation_locale(invitation)
    default_subject, default_intro = _default_texts(locale)
    subject_text = props.get("delighted_email_subject") or survey.email_subject or default_subject
    intro_text = props.get("delighted_intro_message") or survey.email_intro or default_intro
    values = placeholder_values(survey=survey, person=person, properties=props)

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(1).replace("_", " ")), text or "")

    question, intro, subject = fill(survey.question), fill(intro_text), fill(subject_text)
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
        # One line per score button: lines stay far below SMTP's 998 limit, so the HTML part
        # goes as 7/8bit rather than quoted-printable, which lets message_bytes fill its slots.
        with translation.override(locale):
            cached = (render_to_string("surveys/emails/invitation.txt", context),
                      render_to_string("surveys/emails/invitation.html", context).replace("</td><td", "</td>\n<td"))
        if len(_RENDERED) > 512:
            _RENDERED.clear()
        _RENDERED[key] = cached
    return " ".join(subject.split()), key, cached, unsub


def _default_texts(locale: str) -> tuple[str, str]:
    """The default subject and intro in ``locale`` (translated once per process and locale)."""
    texts = _DEFAULT_TEXTS.get(locale)
    if texts is None:
        with translation.override(locale):
            texts = (_("How are we doing? A quick question from {{company}}"),
                     _("We would love to hear what you think. It takes one click."))
        _DEFAULT_TEXTS[locale] = texts
    return texts


def render_invitation(*, invitation: Invitation, raw_token: str | None, preview: bool = False) -> RenderedEmail:
    """Subject, plain text and HTML of an invitation, in its locale. ``raw_token`` None: a preview."""
    subject, _key, cached, unsub = _render_parts(invitation=invitation, preview=preview)
    token = raw_token or "preview"
    text, html = (part.replace(TOKEN_SENTINEL, token).replace(UNSUB_SENTINEL, unsub) for part in cached)
    return RenderedEmail(subject=subject, text=text, html=html,
                         unsubscribe_url=f"{settings.SITE_URL}/u/{unsub}")


def build_message(*, invitation: Invitation, raw_token: str, attempt: int, connection: Any = None) -> AnymailMessage:
    """The message object: anymail metadata, our headers, a deterministic Message-ID (EM-22)."""
    rendered = render_invitation(invitation=invitation, raw_token=raw_token)
    return _message(invitation_id=str(invitation.pk), account_id=str(invitation.account_id),
                    from_email=invitation.account.from_email, to=invitation.person.email, attempt=str(attempt),
                    rendered=rendered, connection=connection)


def _message(*, invitation_id: str, account_id: str, from_email: str, to: str, attempt: str,
             rendered: RenderedEmail, connection: Any = None) -> AnymailMessage:
    message = AnymailMessage(
        subject=rendered.subject, body=rendered.text, from_email=from_email, to=[to], connection=connection,
        headers={
            "Message-ID": f"<inv-{invitation_id}.{attempt}@{sending_domain(from_email)}>",
            "X-Verbatim-Invitation": invitation_id,
            "X-Verbatim-Account": account_id,
            "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    message.metadata = {"account_id": account_id, "invitation_id": invitation_id}
    message.tags = ["survey-invitation"]
    return message


# The SMTP fast path: the MIME bytes of a message are built once per (render key, subject, sender)
# with sentinels in the per-message slots, then each message is those bytes with its own values put
# in (tests/surveys/test_sending_bytes.py proves them equal to the full build, Date and MIME boundary
# aside). Only values that need no MIME encoding go into slots; anything else takes the full build.
INVITATION_SENTINEL = "VERBATIMINVITATIONSENTINEL"
ATTEMPT_SENTINEL = "VERBATIMATTEMPTSENTINEL"
TO_SENTINEL = "verbatimtosentinel@verbatim-sentinel.invalid"
SUBJECT_SENTINEL = "VERBATIMSUBJECTSENTINEL"
# Headers whose values differ per message: rebuilt whole, folded as the stdlib (compat32) folds a
# value with no whitespace: on the next line when "Name: value" would pass 78 characters.
SLOT_HEADERS = (b"To", b"Date", b"Message-ID", b"X-Verbatim-Invitation", b"List-Unsubscribe")
SAFE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                          r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_SAFE_VALUE = re.compile(r"[!-+\--:<-~]+")  # printable ASCII without space, comma or semicolon
# A subject that goes into its slot as is: printable ASCII, single spaces, short enough that neither
# Django (Header.encode) nor the generator folds it, and nothing an encoded word could be read from.
# Others are part of the frame (one frame per distinct subject; a per-person one then costs a build).
_SLOT_SUBJECT = re.compile(r"(?!.*=\?)[!-~]+( [!-~]+)*")
SLOT_SUBJECT_MAX = 60
_FRAMES: dict[tuple, tuple[list, bytes, str] | None] = {}
_TOKEN_BYTES, _UNSUB_BYTES = TOKEN_SENTINEL.encode(), UNSUB_SENTINEL.encode()


def _frame(*, rendered: RenderedEmail, from_email: str, account_id: str,
           slots: tuple[bytes, ...] = SLOT_HEADERS) -> tuple[list, bytes, str] | None:
    """The message's head cut at its ``slots`` headers, its body with the link sentinels in place
    (replaced per message: C-speed, once per sentinel), and the envelope sender; None when slots are
    unsafe."""
    from django.core.mail.message import sanitize_address

    message = _message(invitation_id=INVITATION_SENTINEL, account_id=account_id, from_email=from_email,
                       to=TO_SENTINEL, attempt=ATTEMPT_SENTINEL, rendered=rendered)
    data = message.message().as_bytes(linesep="\r\n")
    head, _sep, body = data.partition(b"\r\n\r\n")
    headers: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1].append(line)
        else:
            headers.append([line])
    pieces: list = []
    text: list[bytes] = []
    for lines in headers:
        name = lines[0].split(b":", 1)[0]
        if name in slots:
            pieces.extend([b"".join(text), name.decode()])
            text = []
        else:
            text.append(b"\r\n".join(lines) + b"\r\n")
    body = b"".join(text) + b"\r\n" + body
    if (body.lower().count(b"content-transfer-encoding: quoted-printable")
            or body.lower().count(b"content-transfer-encoding: base64")
            or any(s.encode() in body for s in (INVITATION_SENTINEL, ATTEMPT_SENTINEL, TO_SENTINEL,
                                                 SUBJECT_SENTINEL))
            or max(len(line) for line in body.split(b"\r\n")) > 600
            or sorted(p for p in pieces if isinstance(p, str)) != sorted(n.decode() for n in slots)):
        return None  # a slot would need MIME encoding or could break a line limit: take the full build
    if TOKEN_SENTINEL.encode() not in body or UNSUB_SENTINEL.encode() not in body:
        return None
    return pieces, body, sanitize_address(from_email, settings.DEFAULT_CHARSET)


def _header(name: str, value: str) -> bytes:
    separator = ": \r\n " if len(name) + 2 + len(value) > 78 else ": "
    return f"{name}{separator}{value}\r\n".encode()


def message_bytes(*, invitation: Invitation, raw_token: str, attempt: int) -> tuple[str, list[str], bytes]:
    """(envelope sender, recipients, bytes) of an invitation for plain SMTP, as Django's SMTP backend
    would send ``build_message``'s message."""
    from django.core.mail.message import sanitize_address

    subject, key, cached, unsub = _render_parts(invitation=invitation, preview=False)
    to, from_email = invitation.person.email, invitation.account.from_email
    site = settings.SITE_URL
    values = {"To": to, "Date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
              "Message-ID": f"<inv-{invitation.pk}.{attempt}@{sending_domain(from_email)}>",
              "X-Verbatim-Invitation": str(invitation.pk), "List-Unsubscribe": f"<{site}/u/{unsub}>",
              TOKEN_SENTINEL: raw_token, UNSUB_SENTINEL: unsub}
    frame = None
    if (SAFE_ADDRESS.fullmatch(to) and UNSUB_SENTINEL not in raw_token
            and all(_SAFE_VALUE.fullmatch(v) for k, v in values.items() if k != "Date")):
        subject_slot = len(subject) <= SLOT_SUBJECT_MAX and bool(_SLOT_SUBJECT.fullmatch(subject))
        if subject_slot:  # one frame for every subject of this survey and look (per-person subjects too)
            values["Subject"] = subject
        frame_key = (key, None if subject_slot else subject, from_email)
        if frame_key not in _FRAMES:
            if len(_FRAMES) > 512:
                _FRAMES.clear()
            text, html = cached
            sentinel = RenderedEmail(subject=SUBJECT_SENTINEL if subject_slot else subject, text=text, html=html,
                                     unsubscribe_url=f"{site}/u/{UNSUB_SENTINEL}")
            _FRAMES[frame_key] = _frame(rendered=sentinel, from_email=from_email,
                                        account_id=str(invitation.account_id),
                                        slots=SLOT_HEADERS + (b"Subject",) if subject_slot else SLOT_HEADERS)
        frame = _FRAMES[frame_key]
    if frame is None:
        message = build_message(invitation=invitation, raw_token=raw_token, attempt=attempt)
        return (sanitize_address(from_email, settings.DEFAULT_CHARSET),
                [sanitize_address(a, settings.DEFAULT_CHARSET) for a in message.recipients()],
                message.message().as_bytes(linesep="\r\n"))
    pieces, body, envelope_from = frame
    out = [piece if type(piece) is bytes else _header(piece, values[piece]) for piece in pieces]
    # The token first: it cannot contain the unsubscribe sentinel (checked above), so the second
    # replace finds only the frame's own sentinels.
    out.append(body.replace(_TOKEN_BYTES, raw_token.encode()).replace(_UNSUB_BYTES, unsub.encode()))
    return envelope_from, [to], b"".join(out)
