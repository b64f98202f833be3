"""Public respondent URLs (no login): /r/<token>, /s/<public-id>, /w/ (web widget)."""
from django.urls import path  # noqa: F401

app_name = "respond"
urlpatterns: list = []
