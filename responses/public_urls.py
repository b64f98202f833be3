"""Public respondent URLs (no login): /r/<token>, /s/<public-id>, /w/ (web widget).

The token (or the survey's public id) is the door into the tenant scope: see
``responses.services.invitation_for_token`` and ``survey_for_public_id``.
"""
from django.urls import path

from responses import public_views as views

app_name = "respond"
urlpatterns = [
    path("r/<str:token>/hp", views.honeypot, name="honeypot"),
    path("r/<str:token>/thanks", views.thanks_page, name="thanks"),
    path("r/<str:token>/action", views.token_action, name="action"),
    path("r/<str:token>/<int:score>", views.score_page, name="score"),
    path("r/<str:token>", views.token_page, name="token"),
    path("s/<str:public_id>/thanks", views.link_thanks, name="link-thanks"),
    path("s/<str:public_id>/action/<str:signed>", views.link_action, name="link-action"),
    path("s/<str:public_id>", views.link_page, name="link"),
    path("w/<str:public_id>/config", views.widget_config, name="widget-config"),
    path("w/<str:public_id>/responses", views.widget_respond, name="widget-respond"),
    path("w/<str:public_id>/dismiss", views.widget_dismiss, name="widget-dismiss"),
]
