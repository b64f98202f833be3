"""The Delighted-compatible API under /v1/ (see ../shared/reference/delighted-api.md).

Routes take an optional ``.json`` suffix (W2) and never a trailing slash (W3); anything else under
/v1/ is a JSON 404, so ``APPEND_SLASH`` never redirects a client.
"""
from django.urls import path, re_path

from integrations.delighted import pages, views
from integrations.delighted.wire import not_found

app_name = "delighted"
J = r"(?P<fmt>\.json)?$"
urlpatterns = [
    re_path(r"^v1/people" + J, views.people, name="people"),
    re_path(r"^v1/people/(?P<email>[^/]+)/survey_requests/pending" + J, views.pending_requests,
            name="person-pending"),
    re_path(r"^v1/people/(?P<identifier>[^/]+?)" + J, views.person_detail, name="person-detail"),
    re_path(r"^v1/survey_responses" + J, views.survey_responses, name="surveyresponse-list"),
    re_path(r"^v1/survey_responses/(?P<pk>[^/]+?)" + J, views.survey_response_detail,
            name="surveyresponse-detail"),
    re_path(r"^v1/metrics" + J, views.metrics, name="metrics"),
    re_path(r"^v1/unsubscribes" + J, views.unsubscribes, name="unsubscribes"),
    re_path(r"^v1/bounces" + J, views.bounces, name="bounces"),
    re_path(r"^v1/autopilot/(?P<platform>[a-z]+)/memberships" + J, views.autopilot_memberships,
            name="autopilotmembership-list"),
    re_path(r"^v1/autopilot/(?P<platform>[a-z]+)" + J, views.autopilot, name="autopilot-detail"),
    re_path(r"^v1(?:/(?P<rest>.*))?$", not_found),
    path("app/<slug:account>/delighted/import", pages.import_delighted, name="import"),
]
