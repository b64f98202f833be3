from django.apps import AppConfig


class DelightedConfig(AppConfig):
    """The Delighted-compatible API (/v1/), saved trends and autopilot memberships' recurring sends."""

    name = "integrations.delighted"
    label = "delighted"
    verbose_name = "Delighted-compatible API"

    def ready(self) -> None:
        from config.celery import app
        from integrations.delighted import tasks  # noqa: F401  (register the task in every process)

        app.conf.beat_schedule["delighted-autopilot-sends"] = {"task": "delighted.schedule_autopilot_sends",
                                                               "schedule": 60.0}
