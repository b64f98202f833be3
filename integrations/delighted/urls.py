"""The Delighted-compatible API under /v1/ (see ../shared/reference/delighted-api.md)."""
from django.urls import path  # noqa: F401

app_name = "delighted"
urlpatterns: list = []
