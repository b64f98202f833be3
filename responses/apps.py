from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "responses"

    def ready(self) -> None:
        from accounts.services import ACCOUNT_SETUP_HOOKS
        from config.celery import app
        from responses import tasks  # noqa: F401  (registers the tasks)
        from responses.cases import set_up_cases

        if set_up_cases not in ACCOUNT_SETUP_HOOKS:
            ACCOUNT_SETUP_HOOKS.append(set_up_cases)
        app.conf.beat_schedule["responses-escalate-overdue-cases"] = {
            "task": "responses.sweep_overdue_cases", "schedule": 60.0}
        app.conf.beat_schedule["responses-send-follow-ups"] = {
            "task": "responses.send_due_follow_ups", "schedule": 60.0}
