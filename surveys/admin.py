"""Django admin (operators only, across accounts: ScopeResetMiddleware disables the scope under /admin/)."""
from django.contrib import admin

from surveys.models import Autopilot, Invitation, Person, PersonImport, Question, Suppression, Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "kind", "status", "locale", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("name", "account__name")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "survey", "kind", "show_to", "position")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "account", "last_surveyed_at", "created_at")
    search_fields = ("email", "name")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "account", "source", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("pk", "account", "survey", "person", "status", "scheduled_at", "sent_at", "attempts")
    list_filter = ("status", "channel")
    raw_id_fields = ("survey", "person")
    readonly_fields = ("token_hash", "attempt_id", "esp_message_id")


@admin.register(PersonImport)
class PersonImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "account", "status", "processed_rows", "total_rows", "error_count", "created_at")
    list_filter = ("status",)


@admin.register(Autopilot)
class AutopilotAdmin(admin.ModelAdmin):
    list_display = ("survey", "account", "enabled", "every_days", "next_run_at", "last_run_at")
