"""Celery application. Broker is Redis (REDIS_URL); without it tasks run in-process (eager)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("verbatim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule["surveys-complaint-rates"] = {"task": "surveys.evaluate_complaint_rates", "schedule": 86400.0}
