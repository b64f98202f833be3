"""Log-in, sign-up, and the account home."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import services
from accounts.forms import SignupForm
from accounts.middleware import accounts_of


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
        with transaction.atomic():
            user = services.get_or_create_user(email=form.cleaned_data["email"],
                                               password=form.cleaned_data["password"])
            account = services.create_account(name=form.cleaned_data["company"], owner=user)
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
    }
    return render(request, "accounts/dashboard.html", context)
