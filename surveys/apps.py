from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from accounts.services import ACCOUNT_SETUP_HOOKS
        from config.celery import app
        from surveys import signals  # noqa: F401  (anymail tracking receiver)
        from surveys.services import create_default_survey

        if create_default_survey not in ACCOUNT_SETUP_HOOKS:
            ACCOUNT_SETUP_HOOKS.append(create_default_survey)
        app.conf.beat_schedule["surveys-dispatch"] = {"task": "surveys.dispatch", "schedule": 60.0}
