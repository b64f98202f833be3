"""Fan-out: one domain event becomes Delivery rows (one per matching destination); the sweeper recovers."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.events import Event
from accounts.scoping import ScopeError, cross_account, current_account_id
from integrations import payloads
from integrations.models import (
    AlertRoute,
    AlertRule,
    Delivery,
    SlackIntegration,
    WebhookEndpoint,
    ZapierSubscription,
)
from integrations.services.delivery import LEASE
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


def build_deliveries(event: Event, endpoints: list[WebhookEndpoint] | None = None) -> list[Delivery]:
    """The Delivery rows an event makes (unsaved). Their dedupe keys make fan-out idempotent.

    ``endpoints`` are the account's active endpoints, locked by the caller: each webhook row takes
    the next ``sequence`` of its endpoint (``last_sequence`` is bumped in memory; the caller saves it).
    """
    account = event.account
    if endpoints is None:
        endpoints = list(account.webhook_endpoints.filter(is_active=True).order_by("pk"))
    kind = event.kind
    endpoints = [e for e in endpoints if not e.events or kind in e.events]
    # fan_out_event() annotates the event with which other destinations exist (saves empty queries)
    subscriptions = (list(account.zapier_subscriptions.filter(event=kind, is_active=True))
                     if getattr(event, "has_zapier", True) else [])
    if not endpoints and not subscriptions and kind not in RESPONSE_KINDS:
        return []  # nobody listens: skip loading the response
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
    common = {"account": account, "event": event, "event_type": kind}
    rows: list[Delivery] = []
    for endpoint in endpoints:
        if response and not matches(endpoint.filters, response):
            continue
        if endpoint.format == endpoint.Format.DELIGHTED:  # Delighted's body has no room: the header carries it
            body = payloads.delighted_body(kind=kind, event_id=event.pk, response=response, person=person,
                                           payload=event.payload)
            if body is None:
                continue
            endpoint.last_sequence += 1
        else:
            endpoint.last_sequence += 1
            body = payloads.standard_body(event_type=kind, data=data, account_slug=account.slug,
                                          sequence=endpoint.last_sequence, at=event.created_at)
        rows.append(Delivery(**common, channel=Delivery.Channel.WEBHOOK, endpoint=endpoint, body=body,
                             sequence=endpoint.last_sequence, message_id=f"evt_{event.pk}",
                             dedupe_key=f"wh:{endpoint.pk}:e{event.pk}"))
    for sub in subscriptions:
        if response and not matches(sub.filters, response):
            continue
        rows.append(Delivery(**common, channel=Delivery.Channel.ZAPIER, zapier=sub, body=payloads.dumps(data),
                             message_id=f"evt_{event.pk}", dedupe_key=f"zap:{sub.pk}:e{event.pk}"))
    if response is None or kind not in RESPONSE_KINDS:
        return rows
    # Slack and alerts speak once per response: an update posts only if the creation did not match
    # (typically a "has comment" filter, the comment arriving after the score).
    slacks = account.slack_integrations.filter(is_active=True) if getattr(event, "has_slack", True) else []
    for slack in slacks:
        if matches(slack.filters, response):
            rows.append(Delivery(**common, channel=Delivery.Channel.SLACK, slack=slack,
                                 body=payloads.dumps(payloads.slack_message(response)),
                                 message_id=f"evt_{event.pk}", dedupe_key=f"slack:{slack.pk}:r{response.pk}"))
    rules = (account.alert_rules.filter(is_active=True).select_related("slack").prefetch_related("members")
             if getattr(event, "has_alerts", True) else [])
    for rule in rules:
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


@dataclass
class FanOut:
    """What a fan-out left to do: ``claimed`` rows (``sending``, attempt 1, in memory with their
    destination) for the fan-out task to send itself, ``queued`` ids that get a task each, and
    ``again``: run the fan-out of this event once more."""

    claimed: list[Delivery] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    again: bool = False  # a backlog of older events came first: this event is still pending


EVENTS_PER_FAN_OUT = 50


def _listeners() -> dict[str, Exists]:
    """Annotations of an event: does its account have Zapier hooks for it, Slack, alert rules?"""
    return {
        "has_zapier": Exists(ZapierSubscription.objects.filter(account=OuterRef("account"), event=OuterRef("kind"),
                                                               is_active=True)),
        "has_slack": Exists(SlackIntegration.objects.filter(account=OuterRef("account"), is_active=True)),
        "has_alerts": Exists(AlertRule.objects.filter(account=OuterRef("account"), is_active=True)),
    }


def fan_out_event(*, event_id: int) -> FanOut:
    """Claim a pending event (and the account's earlier pending ones), write their deliveries, mark them done.

    One transaction, run in the account's scope. It first locks the account's active endpoints, in
    pk order: fan-outs of one account then take turns, and each endpoint's ``sequence`` follows
    the order of the events (an earlier event still pending, whose own task is late, goes first).
    Webhook and Zapier deliveries to destinations without recent failures are inserted already
    claimed (``sending``, with a lease) for the fan-out task to send without a claim query; the
    others (Slack pacing, email, failing endpoints) get a task each. If the task dies, the sweeper
    releases the lease. A duplicate task finds the event done, or locked by its twin, and does nothing.
    """
    account_id = current_account_id()
    if account_id is None:
        raise ScopeError("fan_out_event() runs in the scope of the event's account")
    out = FanOut()
    with transaction.atomic():
        endpoints = list(WebhookEndpoint.objects.select_for_update(no_key=True)
                         .filter(account=account_id, is_active=True).order_by("pk"))
        before = {e.pk: e.last_sequence for e in endpoints}
        # of=("self",): lock only the event rows; locking the joined account row too would make
        # concurrent fan-outs of one account skip each other's events.
        # One query claims the event and the account's earlier pending ones, oldest first (at most
        # EVENTS_PER_FAN_OUT: after a backlog, the rest in the next round), and says which other kinds
        # of destination the account has.
        events = list(Event.objects.select_for_update(skip_locked=True, of=("self",)).select_related("account")
                      .filter(account=account_id, status=Event.Status.PENDING, pk__lte=event_id)
                      .annotate(**_listeners()).order_by("pk")[:EVENTS_PER_FAN_OUT])
        if not events:
            return out  # done already, or its twin holds it
        out.again = len(events) == EVENTS_PER_FAN_OUT and events[-1].pk != event_id
        rows = [row for e in events for row in build_deliveries(e, endpoints)]
        now = timezone.now()
        lease = now + LEASE
        for row in rows:
            row.created_at = row.next_attempt_at = now
            if row.channel == Delivery.Channel.ZAPIER or (row.channel == Delivery.Channel.WEBHOOK
                                                          and not row.endpoint.failures):
                row.status, row.attempts, row.lease_until = Delivery.Status.SENDING, 1, lease
        # A dedupe key can already exist only for an event fanned out before (attempts > 0: replayed
        # by hand) or for the once-per-response Slack and alert keys; only then pay for a savepoint.
        may_conflict = any(e.attempts for e in events) or any(
            r.channel in (Delivery.Channel.SLACK, Delivery.Channel.EMAIL) for r in rows)
        if _insert(rows, savepoint=may_conflict):
            out.claimed = [r for r in rows if r.status == Delivery.Status.SENDING]
            out.queued = [r.pk for r in rows if r.status == Delivery.Status.PENDING]
        else:
            for row in rows:  # rows that already exist stay as they are; the new ones get a task each
                row.pk, row.status, row.attempts, row.lease_until = None, Delivery.Status.PENDING, 0, None
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            out.queued = list(Delivery.objects.filter(event__in=events, status=Delivery.Status.PENDING,
                                                      dedupe_key__in=[r.dedupe_key for r in rows])
                              .order_by("pk").values_list("pk", flat=True))
        bumped = [e for e in endpoints if e.last_sequence != before[e.pk]]
        if bumped:
            WebhookEndpoint.objects.bulk_update(bumped, ["last_sequence"])
        Event.objects.filter(pk__in=[e.pk for e in events]).update(
            status=Event.Status.DONE, processed_at=now, attempts=F("attempts") + 1)
    return out


def _insert(rows: list[Delivery], *, savepoint: bool) -> bool:
    """Insert the rows (their pks are set); False if one already existed (only checked with ``savepoint``)."""
    if not savepoint:
        Delivery.objects.bulk_create(rows)
        return True
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(rows)
    except IntegrityError:
        return False
    return True


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
