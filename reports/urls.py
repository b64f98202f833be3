"""Pages of reports, under /app/<account>/reports/."""
from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("segments/", views.segments, name="segments"),
    path("comments/", views.comments, name="comments"),
    path("agents/", views.agents, name="agents"),
    path("agents/self-assessment/", views.self_assessment_create, name="selfassessment-create"),
    path("export/chart.csv", views.export_chart, name="export-chart"),
    path("export/responses", views.export_responses, name="export-responses"),
    path("monthly/", views.monthly_reports, name="monthly"),
    path("monthly/latest/", views.monthly_report_latest, name="monthly-latest"),
    path("monthly/preview/", views.send_preview, name="monthly-preview"),
    path("monthly/recipients/", views.add_recipient, name="reportrecipient-create"),
    path("monthly/recipients/<int:pk>/delete/", views.delete_recipient, name="reportrecipient-delete"),
    path("monthly/<int:pk>/", views.monthly_report, name="monthlyreport-detail"),
    path("monthly/<int:pk>/pdf/", views.monthly_report_pdf, name="monthlyreport-pdf"),
]
