"""Pages of responses, under /app/<account>/responses/."""
from django.urls import path

from responses import views

app_name = "responses"
urlpatterns = [
    path("", views.response_list, name="response-list"),
    path("<int:pk>/", views.response_detail, name="response-detail"),
]
