"""The anymail tracking receiver: every ESP event goes to one service."""
from __future__ import annotations

import logging
from typing import Any

from anymail.signals import tracking
from django.dispatch import receiver

logger = logging.getLogger("verbatim")


@receiver(tracking, dispatch_uid="surveys.handle_tracking_event")
def on_tracking_event(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from surveys.services import handle_tracking_event

    try:
        handle_tracking_event(event=event, esp_name=esp_name)
    except Exception:  # never 400 the ESP for our bug: it would resend the batch forever (EM-14)
        logger.exception("tracking event %s from %s could not be applied", getattr(event, "event_id", None),
                         esp_name)
