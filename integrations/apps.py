from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from config.celery import app

        # Register the tasks in every process (web too): accounts.events publishes the fan-out by
        # name, and Celery's lazy autodiscovery only imports task modules inside a worker.
        from integrations import tasks  # noqa: F401

        app.conf.beat_schedule["integrations-sweep"] = {"task": "integrations.sweep", "schedule": 60.0}
