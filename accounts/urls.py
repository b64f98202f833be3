"""Log-in, sign-up, password reset, invitations, and the account-level pages (dashboard, settings,
members, API keys) under /app/<account>/."""
from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("accounts/invite/<str:token>", views.accept_invite, name="invite-accept"),
    path("app/<slug:account>/", views.dashboard, name="dashboard"),
    path("app/<slug:account>/settings/", views.account_settings, name="settings"),
    path("app/<slug:account>/settings/members/", views.members, name="members"),
    path("app/<slug:account>/settings/members/<int:pk>/role/", views.change_member_role, name="membership-role"),
    path("app/<slug:account>/settings/members/<int:pk>/remove/", views.remove_member, name="membership-delete"),
    path("app/<slug:account>/settings/invites/<int:pk>/revoke/", views.revoke_invite, name="memberinvite-delete"),
    path("app/<slug:account>/settings/api-keys/", views.api_keys, name="apikey-list"),
    path("app/<slug:account>/settings/api-keys/new/", views.api_key_created, name="apikey-created"),
    path("app/<slug:account>/settings/api-keys/<int:pk>/revoke/", views.revoke_api_key, name="apikey-revoke"),
]
