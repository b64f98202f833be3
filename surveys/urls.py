"""Pages of surveys, under /app/<account>/surveys/."""
from django.urls import path

from surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list, name="survey-list"),
    path("sending/resume/", views.sending_resume, name="sending-resume"),
    path("new/", views.survey_create, name="survey-create"),
    path("<int:pk>/", views.survey_detail, name="survey-detail"),
    path("<int:pk>/edit/", views.survey_edit, name="survey-edit"),
    path("<int:pk>/email/", views.survey_email, name="survey-email"),
    path("<int:pk>/pause/", views.survey_pause, name="survey-pause"),
    path("<int:pk>/resume/", views.survey_resume, name="survey-resume"),
    path("<int:pk>/archive/", views.survey_archive, name="survey-archive"),
    path("<int:pk>/questions/", views.survey_questions, name="survey-questions"),
    path("<int:pk>/thank-you/", views.survey_thankyou, name="survey-thankyou"),
    path("<int:pk>/autopilot/", views.survey_autopilot, name="survey-autopilot"),
    path("<int:pk>/send/", views.survey_send, name="survey-send"),
    path("questions/<int:pk>/edit/", views.question_edit, name="question-edit"),
    path("questions/<int:pk>/delete/", views.question_delete, name="question-delete"),
    path("questions/<int:pk>/move/", views.question_move, name="question-move"),
    path("invitations/", views.invitation_list, name="invitation-list"),
    path("invitations/<int:pk>/cancel/", views.invitation_cancel, name="invitation-cancel"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation-resend"),
    path("people/", views.person_list, name="person-list"),
    path("people/suppressions/", views.suppression_list, name="suppression-list"),
    path("people/new/", views.person_create, name="person-create"),
    path("people/export.csv", views.person_export, name="person-export"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("people/<int:pk>/delete/", views.person_delete, name="person-delete"),
    path("people/import/", views.personimport_create, name="personimport-create"),
    path("people/import/<int:pk>/", views.personimport_detail, name="personimport-detail"),
    path("people/import/<int:pk>/progress/", views.personimport_progress, name="personimport-progress"),
]
