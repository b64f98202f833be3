"""Public integration URLs (no session): Zapier REST hooks, authenticated by API key (docs/zapier.md)."""
from django.urls import path

from integrations import zapier

app_name = "public_integrations"
urlpatterns = [
    path("integrations/zapier/me", zapier.me, name="zapier-me"),
    path("integrations/zapier/hooks", zapier.subscribe, name="zapier-subscribe"),
    path("integrations/zapier/hooks/sample", zapier.sample, name="zapier-sample"),
    path("integrations/zapier/hooks/<int:pk>", zapier.unsubscribe, name="zapier-unsubscribe"),
    path("integrations/zapier/actions/survey-person", zapier.survey_person, name="zapier-survey-person"),
]
