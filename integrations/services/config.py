"""Connecting and removing destinations: webhooks, Slack, Zapier hooks, alert rules and routes."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, ApiKey
from integrations.http import validate_outbound_url
from integrations.models import (
    EVENT_KINDS,
    AlertRoute,
    AlertRule,
    SlackIntegration,
    WebhookEndpoint,
    ZapierSubscription,
    new_webhook_secret,
)
from surveys.models import ScoreGroup

ROTATION_GRACE = timedelta(hours=24)


def clean_filters(*, account: Account, filters: dict[str, Any] | None) -> dict[str, Any]:
    """Keep the known filter keys, checked; survey ids must be the account's own."""
    raw = filters or {}
    clean: dict[str, Any] = {}
    survey_ids = [int(s) for s in raw.get("survey_ids") or [] if str(s).isdecimal()]
    if survey_ids:
        if account.surveys.filter(pk__in=survey_ids).count() != len(set(survey_ids)):
            raise ValidationError({"survey_ids": _("Unknown survey.")})
        clean["survey_ids"] = sorted(set(survey_ids))
    groups = list(raw.get("score_groups") or [])
    if any(g not in ScoreGroup.values for g in groups):
        raise ValidationError({"score_groups": _("Choose promoters, passives or detractors.")})
    if groups:
        clean["score_groups"] = groups
    if raw.get("has_comment") in (True, "true", "1", 1, "on"):
        clean["has_comment"] = True
    if raw.get("max_score") not in (None, ""):
        try:
            clean["max_score"] = int(raw["max_score"])
        except (TypeError, ValueError):
            raise ValidationError({"max_score": _("Enter a whole number.")}) from None
    if (raw.get("comment_contains") or "").strip():
        clean["comment_contains"] = raw["comment_contains"].strip()[:200]
    if (raw.get("property_key") or "").strip():
        clean["property_key"] = raw["property_key"].strip()[:64]
        clean["property_value"] = str(raw.get("property_value") or "").strip()[:255]
    return clean


def _clean_events(events: list[str] | None) -> list[str]:
    events = list(events or [])
    unknown = [e for e in events if e not in EVENT_KINDS]
    if unknown:
        raise ValidationError({"events": _("Unknown event: %(event)s") % {"event": unknown[0]}})
    return events


@transaction.atomic
def create_webhook_endpoint(*, account: Account, url: str, events: list[str] | None = None,
                            format: str = WebhookEndpoint.Format.STANDARD, description: str = "",  # noqa: A002
                            filters: dict[str, Any] | None = None, by: Any = None) -> WebhookEndpoint:
    """Add an endpoint; its secret is generated here and shown to the admin on its page."""
    if format not in WebhookEndpoint.Format.values:
        raise ValidationError({"format": _("Unknown format.")})
    return WebhookEndpoint.objects.create(
        account=account, url=validate_outbound_url(url), events=_clean_events(events), format=format,
        description=description[:200], filters=clean_filters(account=account, filters=filters), created_by=by)


@transaction.atomic
def rotate_webhook_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """New secret now; the old one keeps signing too for ``ROTATION_GRACE`` (zero-downtime, WH-3)."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + getattr(settings, "WEBHOOK_ROTATION_GRACE",
                                                                   ROTATION_GRACE)
    endpoint.secret = new_webhook_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


def delete_webhook_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    endpoint.delete()


@transaction.atomic
def enable_target(*, target: WebhookEndpoint | SlackIntegration) -> None:
    """Re-enable a disabled endpoint or Slack channel; the failure clock starts again."""
    target.is_active, target.disabled_at, target.disabled_reason = True, None, ""
    target.failing_since, target.failures = None, 0
    target.save(update_fields=["is_active", "disabled_at", "disabled_reason", "failing_since", "failures"])


@transaction.atomic
def connect_slack(*, account: Account, name: str, webhook_url: str, filters: dict[str, Any] | None = None,
                  by: Any = None) -> SlackIntegration:
    """Connect a Slack channel by its incoming-webhook URL."""
    return SlackIntegration.objects.create(
        account=account, name=(name or "Slack")[:100],
        webhook_url=validate_outbound_url(webhook_url, field="webhook_url"),
        filters=clean_filters(account=account, filters=filters), created_by=by)


def delete_slack(*, integration: SlackIntegration) -> None:
    """Disconnect a Slack channel."""
    integration.delete()


def subscribe_zapier(*, account: Account, target_url: str, event: str, filters: dict[str, Any] | None = None,
                     api_key: ApiKey | None = None) -> ZapierSubscription:
    """Zapier's performSubscribe: one row per (target URL, event); subscribing twice updates it."""
    if event not in EVENT_KINDS:
        raise ValidationError({"event": _("Unknown event.")})
    url = validate_outbound_url(target_url, field="target_url")
    fields = {"filters": clean_filters(account=account, filters=filters), "api_key": api_key, "is_active": True}
    try:
        with transaction.atomic():
            subscription, _created = ZapierSubscription.objects.update_or_create(
                account=account, target_url=url, event=event, defaults=fields)
    except IntegrityError:  # a concurrent subscribe wrote it first
        subscription = account.zapier_subscriptions.get(target_url=url, event=event)
    return subscription


def unsubscribe_zapier(*, account: Account, subscription_id: int) -> bool:
    """Zapier's performUnsubscribe; False when there was nothing of this account's to remove."""
    deleted, _rows = account.zapier_subscriptions.filter(pk=subscription_id).delete()
    return bool(deleted)


def _clean_emails(emails: list[str] | str | None) -> list[str]:
    if isinstance(emails, str):
        emails = [e for e in emails.replace(";", ",").replace("\n", ",").split(",")]
    out = []
    for email in emails or []:
        email = email.strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"emails": _("Enter valid email addresses: %(e)s") % {"e": email}}) from None
        out.append(email)
    return sorted(set(out))


@transaction.atomic
def create_alert_rule(*, account: Account, name: str, filters: dict[str, Any] | None = None,
                      members: list[Any] | None = None, emails: list[str] | str | None = None,
                      routing_property: str = "", send_email: bool = True,
                      slack: SlackIntegration | None = None) -> AlertRule:
    """An alert rule: condition (filters), who (members, addresses, routing property) and how."""
    if slack is not None and slack.account_id != account.pk:
        raise ValidationError({"slack": _("Unknown Slack channel.")})
    member_ids = set(account.memberships.values_list("user_id", flat=True))
    members = list(members or [])
    if any(m.pk not in member_ids for m in members):
        raise ValidationError({"members": _("Choose members of this account.")})
    clean_emails = _clean_emails(emails)
    if not (members or clean_emails or routing_property.strip() or slack):
        raise ValidationError({"emails": _("Choose who is alerted: members, addresses, a routing property or Slack.")})
    rule = AlertRule.objects.create(
        account=account, name=name[:100], filters=clean_filters(account=account, filters=filters),
        emails=clean_emails, routing_property=routing_property.strip()[:64], send_email=send_email, slack=slack)
    rule.members.set(members)
    return rule


def delete_alert_rule(*, rule: AlertRule) -> None:
    """Remove an alert rule."""
    rule.delete()


def create_alert_route(*, account: Account, property_name: str, property_value: str, email: str) -> AlertRoute:
    """A routing-table row: responses whose ``property_name`` equals ``property_value`` alert ``email``."""
    emails = _clean_emails([email])
    if not emails or not property_name.strip() or not property_value.strip():
        raise ValidationError({"email": _("Enter a property, a value and an email address.")})
    route, _created = AlertRoute.objects.get_or_create(
        account=account, property_name=property_name.strip()[:64], property_value=property_value.strip()[:255],
        email=emails[0])
    return route


def delete_alert_route(*, route: AlertRoute) -> None:
    """Remove a routing-table row."""
    route.delete()
