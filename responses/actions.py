"""Thank-you page actions for promoters and passives (issue 8, "close the loop").

A survey's ``thank_you[group]["link_url"]`` (a review page, a referral link, a "what would make it
a 10?" form) is never linked directly: the page links to a Verbatim URL that records an
``ActionClick`` and redirects (302) to the configured URL. The target always comes from the
survey's own settings, never from the request, so the door cannot be used as an open redirect.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.core import signing

from responses.models import ActionClick, Response
from responses.services import LinkUnknown
from surveys.models import Survey

GROUPS = ("promoter", "passive", "detractor")
LINK_SALT = "responses.action"


def action_target(survey: Survey, group: str) -> str:
    """The http(s) URL the survey configured for ``group``'s thank-you action, or ``""``."""
    if group not in GROUPS:
        return ""
    url = str(((survey.thank_you or {}).get(group) or {}).get("link_url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def record_action_click(*, survey: Survey, group: str, response: Response | None = None) -> ActionClick:
    """Record one click on ``group``'s thank-you action of ``survey`` and return it (its ``url`` is
    where to send the respondent). Raises ``LinkUnknown`` when the survey has no such action.

    Call inside the survey's account scope. ``response`` (if any) must belong to ``survey``.
    """
    url = action_target(survey, group)
    if not url or (response is not None and response.survey_id != survey.pk):
        raise LinkUnknown
    return ActionClick.objects.create(account=survey.account, survey=survey, response=response, group=group,
                                      url=url)


def sign_link_action(*, survey: Survey, group: str, response: Response | None) -> str:
    """The signed part of a link survey's action URL (binds the survey, the group and the response)."""
    return signing.dumps({"s": survey.public_id, "g": group, "r": response.pk if response else None},
                         salt=LINK_SALT, compress=True)


def unsign_link_action(*, survey: Survey, value: str) -> tuple[str, Response | None]:
    """``(group, response)`` from a signed link-survey action; ``LinkUnknown`` when forged or foreign.

    Call inside the survey's account scope (the response is looked up in it).
    """
    try:
        data = signing.loads(value, salt=LINK_SALT)
    except signing.BadSignature:
        raise LinkUnknown from None
    if not isinstance(data, dict) or data.get("s") != survey.public_id or data.get("g") not in GROUPS:
        raise LinkUnknown
    response = None
    if data.get("r") is not None:
        response = Response.objects.filter(pk=data["r"], survey=survey).first()
    return data["g"], response
