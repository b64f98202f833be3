"""Pages of integrations, under /app/<account>/integrations/."""
from django.urls import path  # noqa: F401

app_name = "integrations"
urlpatterns: list = []
