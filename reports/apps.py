from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from config.celery import app

        app.conf.beat_schedule["reports-monthly-report"] = {
            "task": "reports.tasks.queue_due_monthly_reports",
            "schedule": 15 * 60.0,
        }
