"""Public URLs of surveys (no login): one-click unsubscribe, anymail tracking webhooks."""
from django.urls import path  # noqa: F401

app_name = "public_surveys"
urlpatterns: list = []
