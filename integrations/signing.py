"""Webhook signatures: Standard Webhooks (``webhook-id/-timestamp/-signature``) and Delighted's header."""
from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def standard_headers(*, message_id: str, timestamp: int, body: str, secrets: list[str]) -> dict[str, str]:
    """Headers of one attempt: one ``v1,<base64>`` signature per secret, space-separated (rotation)."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    signatures = " ".join(
        "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
        for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


def delighted_headers(*, body: str, secret: str, event_type: str) -> dict[str, str]:
    """``X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by the endpoint secret>``."""
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"X-Delighted-Webhook-Signature": f"sha256={digest}", "X-Delighted-Event-Type": event_type}
