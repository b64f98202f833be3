"""Every write and rule of integrations, split by topic; import from here: ``from integrations import services``."""
from integrations.services.config import (
    clean_filters,
    connect_slack,
    create_alert_route,
    create_alert_rule,
    create_webhook_endpoint,
    delete_alert_route,
    delete_alert_rule,
    delete_slack,
    delete_webhook_endpoint,
    enable_target,
    rotate_webhook_secret,
    subscribe_zapier,
    unsubscribe_zapier,
)
from integrations.services.delivery import deliver, resend_delivery, send_claimed, send_test_message
from integrations.services.fanout import fan_out_event, matches, sweep

__all__ = [
    "clean_filters",
    "connect_slack",
    "create_alert_route",
    "create_alert_rule",
    "create_webhook_endpoint",
    "deliver",
    "delete_alert_route",
    "delete_alert_rule",
    "delete_slack",
    "delete_webhook_endpoint",
    "enable_target",
    "fan_out_event",
    "matches",
    "resend_delivery",
    "rotate_webhook_secret",
    "send_claimed",
    "send_test_message",
    "subscribe_zapier",
    "sweep",
    "unsubscribe_zapier",
]
