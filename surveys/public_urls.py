"""Public URLs of surveys (no login): one-click unsubscribe, anymail tracking webhooks."""
from django.urls import include, path

from surveys import public_views

app_name = "public_surveys"
urlpatterns = [
    path("u/<str:token>", public_views.unsubscribe, name="unsubscribe"),
    path("integrations/anymail/", include("anymail.urls")),
]
