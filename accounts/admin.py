"""Django admin for operators. AccountMiddleware's sibling ScopeResetMiddleware disables the
tenant scope under /admin/ (operators work across accounts on purpose)."""
from django.contrib import admin

from accounts.models import Account, ApiKey, MemberInvite, Membership


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "created_at", "sending_paused")
    search_fields = ("name", "slug")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role")
    list_filter = ("role",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "account", "scope", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash")


@admin.register(MemberInvite)
class MemberInviteAdmin(admin.ModelAdmin):
    list_display = ("email", "account", "role", "created_at", "expires_at", "accepted_at")
    list_filter = ("role",)
    search_fields = ("email", "account__name")
    readonly_fields = ("token_hash",)
