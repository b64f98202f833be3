"""Pages of responses, under /app/<account>/responses/."""
from django.urls import path

from responses import case_views, views, widget_views

app_name = "responses"
urlpatterns = [
    path("", views.response_list, name="response-list"),
    path("<int:pk>/", views.response_detail, name="response-detail"),
    path("<int:pk>/notes/", case_views.response_note, name="response-note"),
    path("<int:pk>/tags/", case_views.response_tags, name="response-tags"),
    path("widget/", widget_views.widget_settings, name="widget-settings"),
    path("widget/secret/", widget_views.widget_secret_regenerate, name="widget-secret-regenerate"),
    path("cases/", case_views.case_list, name="case-list"),
    path("cases/settings/", case_views.casesettings_edit, name="casesettings-edit"),
    path("cases/rules/new/", case_views.caserule_create, name="caserule-create"),
    path("cases/rules/<int:pk>/delete/", case_views.caserule_delete, name="caserule-delete"),
    path("cases/routing/new/", case_views.routingrule_create, name="routingrule-create"),
    path("cases/routing/<int:pk>/delete/", case_views.routingrule_delete, name="routingrule-delete"),
    path("cases/follow-ups/", case_views.followuprule_save, name="followuprule-save"),
    path("cases/follow-ups/<int:pk>/delete/", case_views.followuprule_delete, name="followuprule-delete"),
    path("cases/experiment/", case_views.case_experiment, name="case-experiment"),
    path("cases/<int:pk>/", case_views.case_detail, name="case-detail"),
    path("cases/<int:pk>/status/", case_views.case_status, name="case-status"),
    path("cases/<int:pk>/notes/", case_views.case_note, name="case-note"),
    path("cases/<int:pk>/tags/", case_views.case_tags, name="case-tags"),
    path("cases/<int:pk>/assign/", case_views.case_assign, name="case-assign"),
    path("cases/<int:pk>/reply/", case_views.case_reply, name="case-reply"),
]
