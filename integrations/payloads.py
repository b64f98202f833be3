"""What each destination receives: the response object, webhook bodies (ours and Delighted's), Slack blocks.

The same ``response_object()`` feeds webhooks, Zapier hooks and Zapier's sample endpoint (ZP-3).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.events import Event
from responses.models import Response
from surveys.models import Person

GROUP_COLOURS = {"promoter": "#2e7d32", "passive": "#b26a00", "detractor": "#c62828"}
GROUP_EMOJI = {"promoter": ":large_green_circle:", "passive": ":large_yellow_circle:", "detractor": ":red_circle:"}
SLACK_SECTION_LIMIT = 3000
DELIGHTED_KINDS = {"response.created": "survey_response.created", "response.updated": "survey_response.updated",
                   "person.unsubscribed": "unsubscribe.created"}


def dumps(data: Any) -> str:
    """Serialize once: the exact text that is signed and sent (WH-2)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def response_url(response: Response) -> str:
    return f"{settings.SITE_URL}/app/{response.account.slug}/responses/{response.pk}/"


def person_object(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.pk, "email": person.email, "name": person.name, "phone_number": person.phone_number,
            "properties": person.properties, "created_at": person.created_at.isoformat()}


def response_object(response: Response) -> dict[str, Any]:
    """A response as webhooks, Zapier hooks and the sample endpoint show it."""
    return {
        "id": response.pk,
        "survey": {"id": response.survey_id, "name": response.survey.name, "kind": response.survey.kind},
        "score": response.score,
        "group": response.group,
        "comment": response.comment,
        "has_comment": bool(response.comment),
        "channel": response.channel,
        "properties": response.properties,
        "tags": response.tags,
        "person": person_object(response.person),
        "created_at": response.created_at.isoformat(),
        "updated_at": response.updated_at.isoformat(),
        "url": response_url(response),
    }


def event_object(event: Event, response: Response | None, person: Person | None) -> dict[str, Any]:
    """The ``data`` of an event: the response itself, or the payload plus its response and person."""
    if event.kind in ("response.created", "response.updated") and response is not None:
        return response_object(response)
    data = {**event.payload, "person": person_object(person)}
    if response is not None:
        data["response"] = response_object(response)
    return data


def standard_body(*, event_type: str, data: dict[str, Any], account_slug: str, sequence: int,
                  at: Any = None) -> str:
    """Our webhook body (WH-5): type, timestamp, account, sequence and the object."""
    return dumps({"type": event_type, "timestamp": (at or timezone.now()).isoformat(), "account": account_slug,
                  "sequence": sequence, "data": data})


def delighted_event_id(event_id: int) -> str:
    return hashlib.sha256(f"verbatim-event-{event_id}".encode()).hexdigest()


def _epoch(value: Any) -> int | None:
    return int(value.timestamp()) if value else None


def delighted_person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": str(person.pk), "email": person.email, "name": person.name or None,
            "created_at": _epoch(person.created_at)}


def delighted_body(*, kind: str, event_id: int, response: Response | None, person: Person | None,
                   payload: dict[str, Any]) -> str | None:
    """A body in Delighted's webhook format, or None for kinds Delighted does not have."""
    event_type = DELIGHTED_KINDS.get(kind)
    if event_type is None:
        return None
    if response is not None:
        properties = {k: str(v) for k, v in (response.properties or {}).items()}
        data: dict[str, Any] = {
            "id": str(response.pk), "person": delighted_person(response.person), "survey_type": response.survey.kind,
            "score": response.score, "comment": response.comment or None, "permalink": response_url(response),
            "created_at": _epoch(response.created_at), "updated_at": _epoch(response.updated_at),
            "person_properties": properties or None, "notes": [], "tags": response.tags,
            "additional_answers": [],
        }
    else:
        data = {"person": delighted_person(person) or {"id": None, "email": payload.get("email"), "name": None,
                                                       "created_at": None},
                "unsubscribed_at": _epoch(timezone.now())}
    return dumps({"event_type": event_type, "event_id": delighted_event_id(event_id), "event_data": data})


# -- Slack -----------------------------------------------------------------------------------------

def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup, so a comment cannot @channel."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int = SLACK_SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(response: Response, *, title: str = "New response", key_properties: int = 5) -> dict[str, Any]:
    """A Block Kit message with a plain-text fallback (``text``)."""
    group = response.group
    person = response.person
    who = slack_escape(person.name or person.email or str(person.pk)) if person else "anonymous"
    if person and person.name and person.email:
        who = f"{slack_escape(person.name)} ({slack_escape(person.email)})"
    comment = slack_escape(response.comment) if response.comment else "_no comment_"
    props = {**(person.properties if person else {}), **(response.properties or {})}
    fields = [{"type": "mrkdwn", "text": _truncate(f"*{slack_escape(str(k))}*\n{slack_escape(str(v))}", 2000)}
              for k, v in list(props.items())[:key_properties]]
    url = response_url(response)
    survey = slack_escape(response.survey.name)
    fallback = _truncate(f"{title}: {response.score} ({group}) from {who} on {survey}: "
                         f"{slack_escape(response.comment) or 'no comment'}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(
            f"{GROUP_EMOJI.get(group, '')} *{response.score}* ({group}) from *{who}*\n_{survey}_")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(f">{comment}" if response.comment
                                                                         else comment)}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "View response"}, "url": url},
        {"type": "button", "text": {"type": "plain_text", "text": "Follow up"}, "url": url + "#follow-up"},
    ]})
    return {"text": fallback, "blocks": blocks,
            "attachments": [{"color": GROUP_COLOURS.get(group, "#777777"), "fallback": fallback,
                             "blocks": [{"type": "context", "elements": [
                                 {"type": "mrkdwn", "text": f"Score group: {group}"}]}]}]}


def slack_test_message() -> dict[str, Any]:
    text = "Verbatim is connected: responses will appear in this channel."
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
