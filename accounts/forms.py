"""Forms parse pages; the services in accounts/services.py apply the changes."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, ApiKeyScope, Role


class SignupForm(forms.Form):
    company = forms.CharField(label=_("Company name"), max_length=200)
    email = forms.EmailField(label=_("Work email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False,
                               help_text=password_validation.password_validators_help_text_html())

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(_("An account already uses this email; log in instead."))
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password"):
            user = get_user_model()(username=data.get("email", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


LOGO_MAX_BYTES = 512 * 1024


class AccountSettingsForm(forms.ModelForm):
    """Parses the settings page; ``services.update_account_settings`` applies it."""

    class Meta:
        model = Account
        fields = ["name", "time_zone", "default_locale", "sender_name", "sender_email", "brand_color", "logo",
                  "throttle_days", "link_expiry_days", "edit_window_days", "headless_signals",
                  "send_quota_hourly", "send_quota_daily", "send_recipient_cap"]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "sender_email": _("Survey emails come from this address; your email provider must allow it."),
        }

    logo = forms.ImageField(
        label=_("Logo"), required=False, validators=[FileExtensionValidator(["png", "jpg", "jpeg", "webp"])],
        help_text=_("PNG, JPEG or WebP, at most 512 KB. Shown in survey emails and pages."))

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo and getattr(logo, "size", 0) > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo must be at most 512 KB."))
        return logo

    def clean_throttle_days(self) -> int:
        days = self.cleaned_data["throttle_days"]
        if days > 365:
            raise forms.ValidationError(_("Use at most 365 days."))
        return days

    # Send quotas (EM-28): optional on the form (a post without them keeps the saved values), bounded.
    # Only owners change them: an admin sees them disabled, and a crafted post of them is ignored.
    QUOTA_LIMITS = {"send_quota_hourly": 100_000, "send_quota_daily": 1_000_000, "send_recipient_cap": 10_000}

    def __init__(self, *args: Any, quotas_editable: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quotas_editable = quotas_editable
        for name in self.QUOTA_LIMITS:
            field = self.fields[name]
            field.required = False
            if not quotas_editable:
                field.disabled = True
                owner_only = str(_("Only an owner can change this."))
                field.help_text = f"{field.help_text} {owner_only}" if field.help_text else owner_only

    def _clean_quota(self, name: str) -> int:
        value = self.cleaned_data.get(name)
        if value is None:
            return getattr(self.instance, name)
        if value < 1:
            raise forms.ValidationError(_("Use at least 1."))
        if value > self.QUOTA_LIMITS[name]:
            raise forms.ValidationError(_("Use at most %(max)s.") % {"max": f"{self.QUOTA_LIMITS[name]:,}"})
        return value

    def clean_send_quota_hourly(self) -> int:
        return self._clean_quota("send_quota_hourly")

    def clean_send_quota_daily(self) -> int:
        return self._clean_quota("send_quota_daily")

    def clean_send_recipient_cap(self) -> int:
        return self._clean_quota("send_recipient_cap")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.quotas_editable:
            for name in self.QUOTA_LIMITS:  # disabled: the saved values stay, the service is not asked to write them
                data.pop(name, None)
            return data
        hourly, daily = data.get("send_quota_hourly"), data.get("send_quota_daily")
        if hourly and daily and hourly > daily:
            self.add_error("send_quota_hourly", _("The hourly quota cannot be above the daily one."))
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Where the key is used, e.g. \"Helpdesk integration\"."))
    scope = forms.ChoiceField(label=_("Access"), choices=ApiKeyScope.choices, initial=ApiKeyScope.WRITE)


class SetPasswordForInviteForm(forms.Form):
    """A new user accepting an invitation chooses a password."""

    password = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput, strip=False,
                               help_text=password_validation.password_validators_help_text_html())

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = get_user_model()(username=self.email, email=self.email)
        password_validation.validate_password(password, user)
        return password
