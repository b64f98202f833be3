from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from accounts.services import ACCOUNT_SETUP_HOOKS
        from surveys.services import create_default_survey

        if create_default_survey not in ACCOUNT_SETUP_HOOKS:
            ACCOUNT_SETUP_HOOKS.append(create_default_survey)
