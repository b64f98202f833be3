"""Delivering one Delivery row: claim, pace, sign, send, log, then retry, disable or finish (D6)."""
from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role
from accounts.tasks_util import enqueue_on_commit
from integrations import http, payloads, signing
from integrations.models import Delivery, DeliveryAttempt, SlackIntegration, WebhookEndpoint

logger = logging.getLogger("verbatim")

# Standard Webhooks example schedule (D6): the wait after attempt 1, 2, ...; about 3 days in all.
DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
LEASE = timedelta(minutes=2)
SLACK_INTERVAL = 1.0  # seconds between messages to one incoming-webhook URL
SLACK_MAX_INLINE_WAIT = 10.0  # longer waits go back to the queue (next_attempt_at) for the sweeper
SLACK_DISABLING = {"action_prohibited", "channel_not_found", "channel_is_archived", "no_service", "no_team",
                   "team_disabled", "invalid_token"}
SLACK_OUR_BUG = {"invalid_payload", "too_many_attachments"}


def retry_schedule() -> list[float]:
    return list(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", None) or DEFAULT_RETRY_SCHEDULE)


def next_retry_delay(attempt: int) -> float | None:
    """Seconds before the next attempt after ``attempt`` failed, with ±10 % jitter; None: give up."""
    schedule = retry_schedule()
    if attempt > len(schedule):
        return None
    base = float(schedule[attempt - 1])
    return base * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    return Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now).update(
        status=Delivery.Status.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1) == 1


def _reserve_slack_slot(integration_id: int) -> float:
    """Book the next 1-second slot of this Slack URL; returns seconds to wait for it."""
    with transaction.atomic():
        slack = SlackIntegration.objects.select_for_update().get(pk=integration_id)
        now = timezone.now()
        slot = max(now, slack.next_slot_at or now)
        # Integrations sharing one URL share the pace: book the slot on all of them.
        SlackIntegration.objects.filter(account=slack.account_id, webhook_url=slack.webhook_url).update(
            next_slot_at=slot + timedelta(seconds=SLACK_INTERVAL))
        return (slot - now).total_seconds()


def deliver(*, delivery_id: int) -> str:
    """Send one due delivery; a duplicate task finds nothing to claim. Returns what happened."""
    if not _claim(delivery_id):
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint", "slack", "zapier", "account").get(pk=delivery_id)
    target = delivery.endpoint or delivery.slack
    if (target is not None and not target.is_active) or (
            delivery.channel == Delivery.Channel.ZAPIER and delivery.zapier_id is None):
        _finish(delivery, Delivery.Status.FAILED, error="destination disabled or removed", undo_attempt=True)
        return "cancelled"
    if delivery.channel == Delivery.Channel.SLACK:
        wait = _reserve_slack_slot(delivery.slack_id)
        if wait > SLACK_MAX_INLINE_WAIT:  # a backlog: queue it, never drop it
            _retry_at(delivery, timezone.now() + timedelta(seconds=wait), undo_attempt=True)
            return "paced"
        if wait > 0:
            time.sleep(wait)
    if delivery.channel == Delivery.Channel.EMAIL:
        return _deliver_email(delivery)
    result = http.post(_url(delivery), delivery.body.encode(), _headers(delivery))
    _log_attempt(delivery, result)
    return _classify(delivery, result)


def send_claimed(*, deliveries: list[Delivery], budget: float) -> list[int]:
    """Send webhook and Zapier deliveries the fan-out inserted already claimed; returns the ids left unsent.

    Sends one after the other for at most ``budget`` seconds over this process's pooled connections.
    Successes are recorded together (one statement for the attempt log and the deliveries); anything
    else goes through the one-delivery rules. What the budget leaves is released (``pending``,
    attempt undone) for a task each: the caller enqueues the returned ids.
    """
    started = time.monotonic()
    sent: list[tuple[Delivery, http.Result]] = []
    left: list[Delivery] = []
    for delivery in deliveries:
        if time.monotonic() - started >= budget:
            left.append(delivery)
            continue
        result = http.post(_url(delivery), delivery.body.encode(), _headers(delivery))
        if result.ok:
            sent.append((delivery, result))
        else:
            _log_attempt(delivery, result)
            _classify(delivery, result)
    if sent:
        _record_successes(sent, timezone.now())
    if left:
        Delivery.objects.filter(pk__in=[d.pk for d in left], status=Delivery.Status.SENDING).update(
            status=Delivery.Status.PENDING, lease_until=None, attempts=F("attempts") - 1)
    return [d.pk for d in left]


def _record_successes(sent: list[tuple[Delivery, http.Result]], now) -> None:  # noqa: ANN001
    """Mark the deliveries delivered and log their attempts in ONE statement (the hot path of fan-out:
    the ORM's bulk_create + bulk_update cost four round trips). SQLite (no data-modifying CTE): the ORM."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            for delivery, result in sent:
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Delivery.Status.DELIVERED, lease_until=None, next_attempt_at=None, delivered_at=now,
                    last_status_code=result.status_code, last_duration_ms=result.duration_ms,
                    last_response_excerpt=result.body[:2048], last_error="")
                DeliveryAttempt.objects.create(
                    account_id=delivery.account_id, delivery=delivery, number=delivery.attempts, at=now,
                    status_code=result.status_code, duration_ms=result.duration_ms,
                    response_excerpt=result.body[:2048], error="")
        return
    values = ", ".join(["(%s::bigint, %s::integer, %s::integer, %s::text)"] * len(sent))
    params: list = [x for d, r in sent for x in (d.pk, r.status_code, r.duration_ms, r.body[:2048])]
    delivery, attempt = Delivery._meta.db_table, DeliveryAttempt._meta.db_table
    sql = f"""
        WITH done AS (
            UPDATE {delivery} AS d SET status = %s, lease_until = NULL, next_attempt_at = NULL, delivered_at = %s,
                   last_status_code = v.code, last_duration_ms = v.ms, last_response_excerpt = v.excerpt,
                   last_error = ''
              FROM (VALUES {values}) AS v(id, code, ms, excerpt)
             WHERE d.id = v.id
         RETURNING d.id, d.account_id, d.attempts, v.code, v.ms, v.excerpt)
        INSERT INTO {attempt} (account_id, delivery_id, number, at, status_code, duration_ms, response_excerpt, error)
        SELECT account_id, id, attempts, %s, code, ms, excerpt, '' FROM done"""  # noqa: S608 - table names only
    with connection.cursor() as cursor:
        cursor.execute(sql, [Delivery.Status.DELIVERED, now, *params, now])


def _url(delivery: Delivery) -> str:
    if delivery.endpoint_id:
        return delivery.endpoint.url
    if delivery.slack_id:
        return delivery.slack.webhook_url
    return delivery.zapier.target_url


def _headers(delivery: Delivery) -> dict[str, str]:
    endpoint = delivery.endpoint
    if endpoint is None:
        return {}
    # Both formats carry the id and the endpoint's sequence as headers; Delighted's body stays Delighted's.
    extra = {"webhook-sequence": str(delivery.sequence)} if delivery.sequence is not None else {}
    if endpoint.format == WebhookEndpoint.Format.DELIGHTED:
        return {"webhook-id": delivery.message_id, **extra, **signing.delighted_headers(
            body=delivery.body, secret=endpoint.secret, event_type=json.loads(delivery.body).get("event_type", ""))}
    return {**extra, **signing.standard_headers(message_id=delivery.message_id, timestamp=int(time.time()),
                                                body=delivery.body, secrets=endpoint.secrets_at(timezone.now()))}


def _log_attempt(delivery: Delivery, result: http.Result) -> None:
    DeliveryAttempt.objects.create(
        account=delivery.account, delivery=delivery, number=delivery.attempts, status_code=result.status_code,
        duration_ms=result.duration_ms, response_excerpt=result.body[:2048], error=result.error[:255])
    # written with the outcome (_finish / _retry_at): one UPDATE per attempt
    delivery.result_fields = {"last_status_code": result.status_code, "last_duration_ms": result.duration_ms,
                              "last_response_excerpt": result.body[:2048], "last_error": result.error[:255]}


def _retry_after(result: http.Result) -> float | None:
    value = {k.lower(): v for k, v in result.headers.items()}.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), 3600.0)
    except ValueError:
        return None


def _classify(delivery: Delivery, result: http.Result) -> str:
    code = result.status_code
    body = result.body.strip()
    if result.ok:
        _finish(delivery, Delivery.Status.DELIVERED)
        _target_succeeded(delivery)
        return "delivered"
    if delivery.channel == Delivery.Channel.ZAPIER and code == 410:
        delivery.zapier.delete()  # REST hooks: 410 Gone means the Zap is off
        _finish(delivery, Delivery.Status.FAILED, error="410 Gone: subscription removed")
        return "unsubscribed"
    if delivery.channel == Delivery.Channel.SLACK and (code in (403, 404, 410) or body in SLACK_DISABLING):
        _finish(delivery, Delivery.Status.FAILED, error=f"Slack: {body or code}")
        _disable(delivery.slack, f"Slack answered {code} {body}"[:255])
        return "disabled"
    if delivery.channel == Delivery.Channel.SLACK and body in SLACK_OUR_BUG:
        logger.error("Slack refused our message (%s) for delivery %s", body, delivery.pk)
        _finish(delivery, Delivery.Status.FAILED, error=f"Slack: {body}")
        return "failed"
    if delivery.channel == Delivery.Channel.WEBHOOK and code == 410:
        _finish(delivery, Delivery.Status.FAILED, error="410 Gone")
        _disable(delivery.endpoint, "The endpoint answered 410 Gone.")
        return "disabled"
    retry_after = _retry_after(result) if code in (429, 502, 503, 504) else None
    if retry_after is not None:
        when = timezone.now() + timedelta(seconds=retry_after)
        if delivery.slack_id:  # the whole URL is rate limited, not just this message
            SlackIntegration.objects.filter(pk=delivery.slack_id).update(next_slot_at=when)
        _retry_at(delivery, when)
        return "retry"
    _target_failed(delivery)
    delay = next_retry_delay(delivery.attempts)
    if delay is None:
        _finish(delivery, Delivery.Status.FAILED, error=result.error or f"HTTP {code}: gave up")
        return "failed"
    _retry_at(delivery, timezone.now() + timedelta(seconds=delay))
    return "retry"


def _finish(delivery: Delivery, status: str, *, error: str = "", undo_attempt: bool = False) -> None:
    fields = {**getattr(delivery, "result_fields", {}), "status": status, "lease_until": None,
              "next_attempt_at": None}
    if status == Delivery.Status.DELIVERED:
        fields["delivered_at"] = timezone.now()
    if error:
        fields["last_error"] = error[:255]
    if undo_attempt:
        fields["attempts"] = F("attempts") - 1
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def _retry_at(delivery: Delivery, when, *, undo_attempt: bool = False) -> None:  # noqa: ANN001
    fields = {**getattr(delivery, "result_fields", {}), "status": Delivery.Status.PENDING, "lease_until": None,
              "next_attempt_at": when}
    if undo_attempt:
        fields["attempts"] = F("attempts") - 1
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def _target_model(delivery: Delivery):  # noqa: ANN202
    if delivery.endpoint_id:
        return WebhookEndpoint, delivery.endpoint_id
    if delivery.slack_id:
        return SlackIntegration, delivery.slack_id
    return None, None


def _target_succeeded(delivery: Delivery) -> None:
    model, pk = _target_model(delivery)
    target = delivery.endpoint or delivery.slack
    if model is not None and target.failures:
        model.objects.filter(pk=pk).exclude(failures=0).update(failing_since=None, failures=0)


def _target_failed(delivery: Delivery) -> None:
    """Count a failure; a destination failing continuously for long enough is disabled (D6, WH-8)."""
    model, pk = _target_model(delivery)
    if model is None:
        return
    now = timezone.now()
    with transaction.atomic():
        target = model.objects.select_for_update().get(pk=pk)
        target.failing_since = target.failing_since or now
        target.failures += 1
        target.save(update_fields=["failing_since", "failures"])
    after = timedelta(seconds=getattr(settings, "WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 24 * 3600))
    if target.is_active and now - target.failing_since >= after and target.failures >= getattr(
            settings, "WEBHOOK_DISABLE_MIN_FAILURES", 5):
        _disable(target, "Every attempt failed for too long.")


def _disable(target: WebhookEndpoint | SlackIntegration, reason: str) -> None:
    """Disable once (conditional update) and email the account's owners and admins once."""
    changed = type(target).objects.filter(pk=target.pk, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:255])
    if not changed:
        return
    account = target.account
    recipients = sorted({m.user.email or m.user.username for m in account.memberships.select_related("user")
                         .filter(role__in=[Role.OWNER, Role.ADMIN]) if "@" in (m.user.email or m.user.username)})
    if not recipients:
        return
    label = f"Slack channel {target}" if isinstance(target, SlackIntegration) else f"webhook endpoint {target}"
    url = f"{settings.SITE_URL}/app/{account.slug}/integrations/"
    try:
        send_mail(f"Verbatim disabled the {label}", f"Verbatim stopped sending to the {label} of {account.name}.\n\n"
                  f"Reason: {reason}\n\nRe-enable it once it works again: {url}\n", None, recipients)
    except Exception:  # the disabled state is what matters; the page shows it too
        logger.warning("could not email admins about disabled %s", label, exc_info=True)


def _deliver_email(delivery: Delivery) -> str:
    message = json.loads(delivery.body)
    started = time.monotonic()
    try:
        send_mail(message["subject"], message["text"], None, [delivery.recipient])
    except Exception as exc:  # SMTP trouble: retried on the schedule
        result = http.Result(None, "", {}, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}")
        _log_attempt(delivery, result)
        delay = next_retry_delay(delivery.attempts)
        if delay is None:
            _finish(delivery, Delivery.Status.FAILED, error=result.error)
            return "failed"
        _retry_at(delivery, timezone.now() + timedelta(seconds=delay))
        return "retry"
    _log_attempt(delivery, http.Result(250, "sent", {}, int((time.monotonic() - started) * 1000)))
    _finish(delivery, Delivery.Status.DELIVERED)
    return "delivered"


# -- Admin actions -----------------------------------------------------------------------------------

def resend_delivery(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now, with the same webhook-id (WH-9)."""
    from integrations import tasks

    Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), lease_until=None)
    enqueue_on_commit(tasks.deliver, delivery.account_id, delivery.pk)
    return delivery


def send_test_message(*, target: WebhookEndpoint | SlackIntegration) -> Delivery:
    """The test-send button: a ``ping`` through the same pipeline, shown in the delivery log (WH-10)."""
    from integrations import tasks

    message_id = f"ping_{uuid.uuid4().hex}"
    common = {"account": target.account, "event_type": "ping", "message_id": message_id,
              "dedupe_key": message_id}
    if isinstance(target, SlackIntegration):
        delivery = Delivery.objects.create(**common, channel=Delivery.Channel.SLACK, slack=target,
                                           body=payloads.dumps(payloads.slack_test_message()))
    else:
        data = {"message": "Test event from Verbatim"}
        body = payloads.standard_body(event_type="ping", data=data, account_slug=target.account.slug, sequence=0)
        if target.format == WebhookEndpoint.Format.DELIGHTED:
            body = payloads.dumps({"event_type": "ping", "event_id": uuid.uuid4().hex * 2, "event_data": data})
        delivery = Delivery.objects.create(**common, channel=Delivery.Channel.WEBHOOK, endpoint=target, body=body)
    enqueue_on_commit(tasks.deliver, target.account_id, delivery.pk)
    return delivery
