"""WSGI entry point. The respondent's JSON submit runs on a middleware stack of its own
(responses/handler.py; docs/architecture.md, "The respondent's hot path"), everything else on Django's."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from responses.handler import with_respondent_path  # noqa: E402  (after django.setup())

application = with_respondent_path(django_application)
