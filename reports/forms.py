"""Forms of report pages: an agent's self-assessment."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from reports.selectors import surveys_of


class SelfAssessmentForm(forms.Form):
    """Parses the page's input; ``services.record_self_assessment`` applies the rules (scale, account)."""

    agent = forms.CharField(label=_("Agent"), max_length=200,
                            help_text=_("As in the responses' “agent” property."))
    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int)
    score = forms.IntegerField(label=_("Score"), help_text=_("On the survey's scale, as a customer would answer."))
    interaction = forms.CharField(label=_("Interaction (optional)"), max_length=200, required=False,
                                  help_text=_("A ticket, call or chat reference."))
    comment = forms.CharField(label=_("Comment (optional)"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, account: Account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].choices = [(s.pk, f"{s.name} ({s.scale_min}–{s.scale_max})")
                                         for s in surveys_of(account)]
