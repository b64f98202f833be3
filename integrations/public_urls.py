"""Public integration URLs (no session): Zapier REST hooks and other inbound endpoints."""
from django.urls import path  # noqa: F401

app_name = "public_integrations"
urlpatterns: list = []
