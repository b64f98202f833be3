"""Pages of integrations, under /app/<account>/integrations/."""
from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_list, name="integration-list"),
    path("slack/new/", views.slack_create, name="slackintegration-create"),
    path("slack/<int:pk>/test/", views.slack_test, name="slackintegration-test"),
    path("slack/<int:pk>/enable/", views.slack_enable, name="slackintegration-enable"),
    path("slack/<int:pk>/delete/", views.slack_delete, name="slackintegration-delete"),
    path("webhooks/new/", views.webhook_create, name="webhookendpoint-create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhookendpoint-detail"),
    path("webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhookendpoint-rotate"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhookendpoint-test"),
    path("webhooks/<int:pk>/enable/", views.webhook_enable, name="webhookendpoint-enable"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhookendpoint-delete"),
    path("zapier/<int:pk>/delete/", views.zapier_delete, name="zapiersubscription-delete"),
    path("alerts/new/", views.alert_create, name="alertrule-create"),
    path("alerts/<int:pk>/delete/", views.alert_delete, name="alertrule-delete"),
    path("routes/", views.route_list, name="alertroute-list"),
    path("routes/<int:pk>/delete/", views.route_delete, name="alertroute-delete"),
    path("deliveries/", views.delivery_list, name="delivery-list"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery-resend"),
]
