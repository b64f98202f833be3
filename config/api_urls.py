"""Verbatim's REST API under /api/ (DRF routers of each app's api.py) and its OpenAPI schema."""
from django.urls import path  # noqa: F401

app_name = "restapi"
urlpatterns: list = []
