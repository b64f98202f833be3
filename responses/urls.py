"""Pages of responses, under /app/<account>/responses/."""
from django.urls import path  # noqa: F401

app_name = "responses"
urlpatterns: list = []
