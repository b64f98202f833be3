"""Fan-out: one domain event becomes Delivery rows (one per matching destination); the sweeper recovers."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.events import Event
from accounts.scoping import cross_account
from integrations import payloads
from integrations.models import AlertRoute, AlertRule, Delivery
from responses.models import Response
from surveys.models import Person

logger = logging.getLogger("verbatim")

RESPONSE_KINDS = ("response.created", "response.updated")


def matches(filters: dict[str, Any], response: Response) -> bool:
    """Whether a response passes a destination's filters (an empty dict passes everything)."""
    f = filters or {}
    if f.get("survey_ids") and response.survey_id not in f["survey_ids"]:
        return False
    if f.get("score_groups") and response.group not in f["score_groups"]:
        return False
    if f.get("has_comment") and not (response.comment or "").strip():
        return False
    if f.get("max_score") is not None and response.score > int(f["max_score"]):
        return False
    if f.get("comment_contains") and f["comment_contains"].lower() not in (response.comment or "").lower():
        return False
    if f.get("property_key"):
        props = {**(response.person.properties if response.person else {}), **(response.properties or {})}
        if str(props.get(f["property_key"], "")) != str(f.get("property_value", "")):
            return False
    return True


def _alert_recipients(rule: AlertRule, response: Response) -> list[str]:
    emails = set(rule.emails)
    emails.update(u.email or u.username for u in rule.members.all() if (u.email or "@" in u.username))
    if rule.routing_property:
        props = {**(response.person.properties if response.person else {}), **(response.properties or {})}
        value = props.get(rule.routing_property)
        if value not in (None, ""):
            emails.update(AlertRoute.objects.filter(
                account=rule.account_id, property_name=rule.routing_property,
                property_value=str(value)).values_list("email", flat=True))
    return sorted(emails)


def _alert_email_body(response: Response, rule: AlertRule) -> str:
    person = response.person
    who = (person.name or person.email) if person else "anonymous"
    subject = f"[{rule.name}] {response.score} from {who} on {response.survey.name}"
    text = (f"{rule.name}\n\nScore: {response.score} ({response.group})\nFrom: {who}\n"
            f"Survey: {response.survey.name}\nComment: {response.comment or '(none)'}\n\n"
            f"Open the response: {payloads.response_url(response)}\n")
    return payloads.dumps({"subject": subject, "text": text})


def build_deliveries(event: Event) -> list[Delivery]:
    """The Delivery rows an event makes (unsaved). Their dedupe keys make fan-out idempotent."""
    account = event.account
    kind = event.kind
    response = person = None
    if event.payload.get("response_id"):  # response.*, case.created
        response = (account.responses.select_related("survey", "person", "account")
                    .filter(pk=event.payload["response_id"]).first())
        if response is None and kind in RESPONSE_KINDS:
            return []  # deleted (erased) since: nothing to tell anyone
        person = response.person if response else None
    if person is None and event.payload.get("person_id"):
        person = Person.objects.filter(account=account, pk=event.payload["person_id"]).first()
    data = payloads.event_object(event, response, person)
    standard = payloads.standard_body(event_type=kind, data=data, account_slug=account.slug, sequence=event.pk,
                                      at=event.created_at)
    common = {"account": account, "event": event, "event_type": kind}
    rows: list[Delivery] = []
    for endpoint in account.webhook_endpoints.filter(is_active=True):
        if (endpoint.events and kind not in endpoint.events) or (response and not matches(endpoint.filters, response)):
            continue
        body = standard
        if endpoint.format == endpoint.Format.DELIGHTED:
            body = payloads.delighted_body(kind=kind, event_id=event.pk, response=response, person=person,
                                           payload=event.payload)
            if body is None:
                continue
        rows.append(Delivery(**common, channel=Delivery.Channel.WEBHOOK, endpoint=endpoint, body=body,
                             message_id=f"evt_{event.pk}", dedupe_key=f"wh:{endpoint.pk}:e{event.pk}"))
    for sub in account.zapier_subscriptions.filter(event=kind, is_active=True):
        if response and not matches(sub.filters, response):
            continue
        rows.append(Delivery(**common, channel=Delivery.Channel.ZAPIER, zapier=sub, body=payloads.dumps(data),
                             message_id=f"evt_{event.pk}", dedupe_key=f"zap:{sub.pk}:e{event.pk}"))
    if response is None or kind not in RESPONSE_KINDS:
        return rows
    # Slack and alerts speak once per response: an update posts only if the creation did not match
    # (typically a "has comment" filter, the comment arriving after the score).
    for slack in account.slack_integrations.filter(is_active=True):
        if matches(slack.filters, response):
            rows.append(Delivery(**common, channel=Delivery.Channel.SLACK, slack=slack,
                                 body=payloads.dumps(payloads.slack_message(response)),
                                 message_id=f"evt_{event.pk}", dedupe_key=f"slack:{slack.pk}:r{response.pk}"))
    for rule in account.alert_rules.filter(is_active=True).select_related("slack").prefetch_related("members"):
        if not matches(rule.filters, response):
            continue
        if rule.send_email:
            body = _alert_email_body(response, rule)
            for email in _alert_recipients(rule, response):
                rows.append(Delivery(**common, channel=Delivery.Channel.EMAIL, alert_rule=rule, recipient=email,
                                     body=body, message_id=f"evt_{event.pk}",
                                     dedupe_key=f"alert:{rule.pk}:r{response.pk}:{email}"[:120]))
        if rule.slack is not None and rule.slack.is_active:
            message = payloads.slack_message(response, title=f"Alert: {rule.name}")
            rows.append(Delivery(**common, channel=Delivery.Channel.SLACK, slack=rule.slack, alert_rule=rule,
                                 body=payloads.dumps(message), message_id=f"evt_{event.pk}",
                                 dedupe_key=f"alert:{rule.pk}:r{response.pk}:slack"))
    return rows


def fan_out_event(*, event_id: int) -> list[tuple[int, bool]]:
    """Claim a pending event, write its deliveries and mark it done in one transaction.

    Returns ``(delivery id, inline)`` for the deliveries due now: ``inline`` marks webhook and
    Zapier deliveries to destinations without recent failures, which the fan-out task may send
    itself; the others (Slack pacing, email, failing endpoints) get their own task. A duplicate
    task finds the event done, or locked by its twin, and does nothing.
    """
    with transaction.atomic():
        # of=("self",): lock only the event row; locking the joined account row too would make
        # concurrent fan-outs of one account skip each other's events.
        event = (Event.objects.select_for_update(skip_locked=True, of=("self",)).select_related("account")
                 .filter(pk=event_id, status=Event.Status.PENDING).first())
        if event is None:
            return []
        rows = build_deliveries(event)
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        Event.objects.filter(pk=event.pk).update(status=Event.Status.DONE, processed_at=timezone.now(),
                                                 attempts=event.attempts + 1)
        due = (Delivery.objects.filter(event=event, status=Delivery.Status.PENDING,
                                       dedupe_key__in=[r.dedupe_key for r in rows])
               .values_list("pk", "channel", "endpoint__failures").order_by("pk"))
        return [(pk, channel == Delivery.Channel.ZAPIER or (channel == Delivery.Channel.WEBHOOK and not failures))
                for pk, channel, failures in due]


def sweep() -> dict[str, int]:
    """Every minute: republish stuck events, release expired leases, enqueue due deliveries.

    Works across accounts on purpose: it is the dispatcher; each task it enqueues re-enters one
    account's scope through ``@account_task``.
    """
    from integrations import tasks

    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "EVENT_SWEEP_AFTER_SECONDS", 30))
    with cross_account():  # the dispatcher reads every account's outbox
        events = list(Event.objects.filter(status=Event.Status.PENDING, created_at__lte=stale)
                      .order_by("created_at").values_list("account_id", "pk")[:1000])
        released = Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now).update(
            status=Delivery.Status.PENDING, next_attempt_at=now)
        due = list(Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
                   .order_by("next_attempt_at").values_list("account_id", "pk")[:2000])
    for account_id, event_id in events:
        _publish(tasks.fan_out_event, account_id, event_id)
    for account_id, delivery_id in due:
        _publish(tasks.deliver, account_id, delivery_id)
    return {"events": len(events), "released": released, "deliveries": len(due)}


def _publish(task: Any, *args: Any) -> None:
    try:
        task.delay(*args)
    except Exception:  # broker down: the rows stay due and the next sweep tries again
        logger.warning("sweeper could not publish %s%r", task.name, args, exc_info=True)
