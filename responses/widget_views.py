"""The web widget's settings page, under /app/<account>/responses/widget/: the snippet, the identity
secret and the "require a verified identity" switch (owners and admins; see docs/widget.md)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.views import add_errors, managers_only
from responses import widget_identity


class WidgetVerificationForm(forms.Form):
    widget_require_verified = forms.BooleanField(
        label=gettext_lazy("Require a verified identity"), required=False,
        help_text=gettext_lazy("The widget then shows only to users whose snippet carries a correct user_hash."))


@managers_only
def widget_settings(request: HttpRequest, account: str) -> HttpResponse:
    """The snippet to paste, the widget secret, and the verification switch (POST: save the switch)."""
    acct = request.account
    form = WidgetVerificationForm(request.POST or None,
                                  initial={"widget_require_verified": acct.widget_require_verified})
    if request.method == "POST" and form.is_valid():
        try:
            widget_identity.set_widget_verification(account=acct, required=form.cleaned_data["widget_require_verified"])
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Widget settings saved."))
            return redirect("responses:widget-settings", account=acct.slug)
    return render(request, "responses/widget_settings.html", {
        "form": form, "script_url": request.build_absolute_uri(static("responses/widget.js")),
        "surveys": acct.surveys.filter(status="active").order_by("name")}, status=400 if form.errors else 200)


@require_POST
@managers_only
def widget_secret_regenerate(request: HttpRequest, account: str) -> HttpResponse:
    widget_identity.regenerate_widget_secret(account=request.account)
    messages.success(request, _("New widget secret generated: the old one no longer verifies. "
                                "Update your server's copy."))
    return redirect("responses:widget-settings", account=request.account.slug)
