"""Log-in, sign-up, password reset, invitations, and the account's home and settings pages."""
from __future__ import annotations

import functools
import logging
import smtplib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.dashboard import DASHBOARD_PANELS
from accounts.forms import (
    AccountSettingsForm,
    ApiKeyForm,
    InviteForm,
    RoleForm,
    SetPasswordForInviteForm,
    SignupForm,
)
from accounts.middleware import accounts_of
from accounts.models import Role

NEW_KEY_SESSION = "new_api_key"
logger = logging.getLogger("verbatim")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the account they used last, or their first one."""
    accounts = accounts_of(request.user)
    if not accounts:
        return render(request, "accounts/no_account.html")
    last = request.session.get("last_account")
    account = next((a for a in accounts if a.slug == last), accounts[0])
    return redirect(account)


def signup(request: HttpRequest) -> HttpResponse:
    """Create a company account and its owner, then log in."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, account = services.sign_up(company=form.cleaned_data["company"],
                                             email=form.cleaned_data["email"], password=form.cleaned_data["password"])
        except ValidationError as error:
            add_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Verbatim! Your account is ready."))
            return redirect(account)
    return render(request, "accounts/signup.html", {"form": form})


def dashboard(request: HttpRequest, account: str) -> HttpResponse:
    """The account's home: what is there and what to do next."""
    acct = request.account
    context = {
        "survey_count": acct.surveys.count(),
        "people_count": acct.people.count(),
        "response_count": acct.responses.count(),
        "panels": [html for html in (panel(request) for panel in DASHBOARD_PANELS) if html],
    }
    return render(request, "accounts/dashboard.html", context)


def add_errors(form: Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form (on the named field when the form has it)."""
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def managers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Owners and admins only. Members and viewers belong to the account, so 403 (not 404) is right."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.membership is None or not request.membership.can_manage:
            raise PermissionDenied(_("Only owners and admins can manage the account."))
        return view(request, *args, **kwargs)

    return wrapper


# -- Account settings ------------------------------------------------------------------------------

@managers_only
def account_settings(request: HttpRequest, account: str) -> HttpResponse:
    """The account's name, locale, sender, branding and sending rules."""
    acct = request.account
    form = AccountSettingsForm(request.POST or None, request.FILES or None, instance=acct,
                               quotas_editable=request.membership.role == Role.OWNER)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_account_settings(account=acct, changes=form.cleaned_data, by=request.membership)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("accounts:settings", account=acct.slug)
    if form.errors:
        acct.refresh_from_db()  # the header shows the saved name, not the rejected one
    return render(request, "accounts/settings.html", {"form": form}, status=400 if form.errors else 200)


# -- Members and invitations -----------------------------------------------------------------------

@managers_only
def members(request: HttpRequest, account: str) -> HttpResponse:
    """Members with their roles, pending invitations, and the invite form (POST: invite)."""
    acct = request.account
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invite, raw = services.invite_member(account=acct, email=form.cleaned_data["email"],
                                                 role=form.cleaned_data["role"], by=request.membership)
        except ValidationError as error:
            add_errors(form, error)
        else:
            try:
                services.send_invite_email(invite=invite, raw_token=raw)
            except (smtplib.SMTPException, OSError):
                logger.exception("invitation email to %s failed", invite.email)
                messages.error(request, _("The invitation to %(email)s is saved but the email could not be sent; "
                                          "invite again to retry.") % {"email": invite.email})
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invite.email})
            return redirect("accounts:members", account=acct.slug)
    context = {
        "form": form,
        "memberships": acct.memberships.select_related("user").order_by("user__username"),
        "invites": acct.member_invites.filter(accepted_at__isnull=True).order_by("-created_at"),
        "roles": Role.choices,
    }
    return render(request, "accounts/members.html", context, status=400 if form.errors else 200)


@require_POST
@managers_only
def change_member_role(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    membership = get_object_or_404(request.account.memberships, pk=pk)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"role": _("Unknown role.")})
        services.change_role(membership=membership, role=form.cleaned_data["role"], by=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(sum(error.message_dict.values(), [])))
    else:
        messages.success(request, _("%(user)s is now %(role)s.") % {
            "user": membership.user.email or membership.user.get_username(),
            "role": membership.get_role_display()})
    return redirect("accounts:members", account=request.account.slug)


@require_POST
@managers_only
def remove_member(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    membership = get_object_or_404(request.account.memberships, pk=pk)
    try:
        services.remove_member(membership=membership, by=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(sum(error.message_dict.values(), [])))
        return redirect("accounts:members", account=request.account.slug)
    messages.success(request, _("%(user)s was removed.") % {"user": membership.user.get_username()})
    if membership.user_id == request.user.pk:
        return redirect("accounts:home")
    return redirect("accounts:members", account=request.account.slug)


@require_POST
@managers_only
def revoke_invite(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    invite = get_object_or_404(request.account.member_invites, pk=pk)
    services.revoke_invite(invite=invite)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("accounts:members", account=request.account.slug)


def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. GET shows the invitation; POST joins (logged in) or creates the user first."""
    invite = services.invite_for_token(token)
    if invite is None:
        return render(request, "accounts/invite_invalid.html", status=404)
    User = get_user_model()  # noqa: N806
    has_user = User.objects.filter(username__iexact=invite.email).exists()
    form = None
    if not request.user.is_authenticated and not has_user:
        form = SetPasswordForInviteForm(request.POST or None, email=invite.email)
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                services.accept_invite(invite=invite, user=request.user)
            elif form is not None and form.is_valid():
                user, _membership = services.accept_invite_as_new_user(
                    invite=invite, password=form.cleaned_data["password"])
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                return render(request, "accounts/invite.html",
                              {"invite": invite, "form": form, "has_user": has_user}, status=400)
        except ValidationError as error:
            messages.error(request, " ".join(sum(error.message_dict.values(), [])))
            return render(request, "accounts/invite_invalid.html", status=409)
        messages.success(request, _("Welcome to %(account)s!") % {"account": invite.account.name})
        return redirect(invite.account)
    login_url = f"{reverse('accounts:login')}?next={request.path}"
    return render(request, "accounts/invite.html",
                  {"invite": invite, "form": form, "has_user": has_user, "login_url": login_url})


# -- API keys --------------------------------------------------------------------------------------

@managers_only
def api_keys(request: HttpRequest, account: str) -> HttpResponse:
    """List the account's keys (prefix only) and create one (POST); the new key is shown once."""
    acct = request.account
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw = services.create_api_key(account=acct, name=form.cleaned_data["name"],
                                           scope=form.cleaned_data["scope"], by=request.user)
        request.session[NEW_KEY_SESSION] = {"id": key.pk, "raw": raw}
        return redirect("accounts:apikey-created", account=acct.slug)
    keys = acct.api_keys.select_related("created_by").order_by("revoked_at", "-created_at")
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys},
                  status=400 if form.errors else 200)


@managers_only
def api_key_created(request: HttpRequest, account: str) -> HttpResponse:
    """Shows the raw key of the key just created, exactly once: the session forgets it on display."""
    new = request.session.pop(NEW_KEY_SESSION, None)
    key = request.account.api_keys.filter(pk=new["id"]).first() if new else None
    if key is None:
        return redirect("accounts:apikey-list", account=request.account.slug)
    response = render(request, "accounts/api_key_created.html", {"key": key, "raw": new["raw"]})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@managers_only
def revoke_api_key(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    key = get_object_or_404(request.account.api_keys, pk=pk)
    services.revoke_api_key(api_key=key)
    messages.success(request, _("Key %(name)s revoked; requests using it now fail.") % {"name": key.name})
    return redirect("accounts:apikey-list", account=request.account.slug)


# -- Password reset (Django's views, our templates; links use SITE_URL) ---------------------------

class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/emails/password_reset.txt"
    subject_template_name = "accounts/emails/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
