"""The Delighted CSV import form."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class DelightedImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"),
                             choices=[("responses", _("Survey responses")), ("people", _("People"))])
    survey = forms.ModelChoiceField(label=_("Import responses into"), queryset=None, required=False,
                                    help_text=_("Only for responses."))
    file = forms.FileField(label=_("Delighted CSV export"))

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = account.surveys.order_by("name")
        self.fields["survey"].initial = account.surveys.filter(is_default=True).first()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == "responses" and not data.get("survey"):
            self.add_error("survey", _("Choose the survey the responses belong to."))
        return data
