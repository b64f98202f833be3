from django.apps import AppConfig


class DelightedConfig(AppConfig):
    """The Delighted-compatible API (/v1/) and Verbatim's REST API helpers (idempotency keys)."""

    name = "integrations.delighted"
    label = "delighted"
    verbose_name = "Delighted-compatible API"
