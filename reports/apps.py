from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from accounts.dashboard import register_panel
        from config.celery import app
        from reports.panels import headline_panel

        register_panel(headline_panel)

        app.conf.beat_schedule["reports-monthly-report"] = {
            "task": "reports.tasks.queue_due_monthly_reports",
            "schedule": 15 * 60.0,
        }
