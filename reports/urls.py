"""Pages of reports, under /app/<account>/reports/."""
from django.urls import path  # noqa: F401

app_name = "reports"
urlpatterns: list = []
