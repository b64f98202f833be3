"""Forms of the survey pages. Tenant querysets come from ``request.account`` in ``__init__``."""
from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from surveys.models import Question, Survey, SurveyKind


class JSONObjectField(forms.CharField):
    """A JSON object typed in a textarea; empty means {}."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False) if value else ""
        return value

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise forms.ValidationError(_("Enter valid JSON, e.g. {\"product_name\": \"our app\"}.")) from exc
        if not isinstance(data, dict):
            raise forms.ValidationError(_("Enter a JSON object: names and values in { }."))
        return data


class SurveyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    locale = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    question = forms.CharField(label=_("Question"), max_length=500, required=False,
                               help_text=_("Leave empty for the standard question of the kind."))


class SurveyEditForm(forms.ModelForm):
    placeholder_defaults = JSONObjectField(label=_("Placeholder fallback values"), required=False,
                                           help_text=_('e.g. {"product_name": "our app"}'))
    redirect_url = forms.URLField(label=_("Redirect after the thank-you page"), required=False, assume_scheme="https")

    class Meta:
        model = Survey
        fields = ["name", "question", "locale", "low_label", "high_label", "email_subject", "email_intro",
                  "placeholder_defaults", "redirect_url", "scale_min", "scale_max"]
        widgets = {"locale": forms.Select(choices=settings.LANGUAGES), "email_intro": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind != SurveyKind.CUSTOM:
            del self.fields["scale_min"]
            del self.fields["scale_max"]


class QuestionForm(forms.ModelForm):
    choices_text = forms.CharField(label=_("Choices (one per line)"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 4}))

    class Meta:
        model = Question
        fields = ["kind", "text", "choices_text", "allow_other", "required", "show_to", "is_resolution",
                  "scale_min", "scale_max"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.choices:
            self.initial["choices_text"] = "\n".join(self.instance.choices)

    def clean(self):
        data = super().clean()
        data["choices"] = [c.strip() for c in (data.get("choices_text") or "").splitlines() if c.strip()]
        if data.get("kind") in (Question.Kind.SINGLE, Question.Kind.MULTIPLE) and len(data["choices"]) < 2:
            self.add_error("choices_text", _("Give at least two choices."))
        if data.get("is_resolution") and data.get("kind") != Question.Kind.YES_NO:
            self.add_error("is_resolution", _("Only a yes/no question can feed the resolution rate."))
        return data


class ThankYouForm(forms.Form):
    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        for group, label in (("promoter", _("Promoters")), ("passive", _("Passives")),
                             ("detractor", _("Detractors"))):
            current = (survey.thank_you or {}).get(group, {})
            self.fields[f"{group}_message"] = forms.CharField(
                label=_("%(group)s: message") % {"group": label}, required=False, initial=current.get("message"),
                widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[f"{group}_link_text"] = forms.CharField(
                label=_("%(group)s: link text") % {"group": label}, required=False, max_length=100,
                initial=current.get("link_text"))
            self.fields[f"{group}_link_url"] = forms.URLField(
                label=_("%(group)s: link (e.g. a review page)") % {"group": label}, required=False,
                initial=current.get("link_url"), assume_scheme="https")
        self.fields["redirect_url"] = forms.URLField(label=_("Redirect after the thank-you page"), required=False,
                                                     initial=survey.redirect_url, assume_scheme="https")

    def thank_you(self) -> dict:
        return {group: {key: self.cleaned_data[f"{group}_{key}"] for key in ("message", "link_text", "link_url")
                        if self.cleaned_data[f"{group}_{key}"]}
                for group in ("promoter", "passive", "detractor")}


class PersonForm(forms.Form):
    email = forms.EmailField(label=_("Email"), required=False)
    name = forms.CharField(label=_("Name"), required=False, max_length=255)
    phone_number = forms.CharField(label=_("Phone number"), required=False, max_length=16,
                                   help_text=_("International format, e.g. +14155551212."))
    properties = JSONObjectField(label=_("Properties"), required=False, help_text=_('e.g. {"plan": "pro"}'))


class SendForm(forms.Form):
    TARGETS = [("selected", _("The people I selected")), ("segment", _("Everyone whose properties match")),
               ("import", _("The people of an import"))]
    target = forms.ChoiceField(label=_("Send to"), choices=TARGETS, widget=forms.RadioSelect, initial="segment")
    person_ids = forms.CharField(required=False, widget=forms.HiddenInput)
    property_filter = JSONObjectField(label=_("Property filter"), required=False,
                                      help_text=_('e.g. {"plan": "pro"}; empty means everyone.'))
    person_import = forms.ModelChoiceField(label=_("Import"), queryset=None, required=False)
    delay_minutes = forms.IntegerField(label=_("Send after (minutes)"), min_value=0, max_value=60 * 24 * 30,
                                       initial=0, help_text=_("0 sends now."))

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person_import"].queryset = account.person_imports.filter(status="done")


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, first line names the columns."))


class ImportMappingForm(forms.Form):
    def __init__(self, *args, header: list[str], mapping: dict[str, str], account, **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, column in enumerate(header):
            target = mapping.get(column, "")
            choices = [("", _("(skip)")), ("email", _("Email")), ("name", _("Name")),
                       ("phone_number", _("Phone number")),
                       (f"property:{column}", _("Property \"%(c)s\"") % {"c": column})]
            self.fields[f"col_{index}"] = forms.ChoiceField(label=column, choices=choices, initial=target,
                                                            required=False)
        self.fields["send_survey"] = forms.ModelChoiceField(
            label=_("Then send this survey to everyone imported"), required=False,
            queryset=account.surveys.filter(status="active"))
        self.fields["delay_minutes"] = forms.IntegerField(label=_("Send after (minutes)"), min_value=0,
                                                          max_value=60 * 24 * 30, initial=0, required=False)

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data.get(f"col_{i}") or "" for i, column in enumerate(self.header)}


class AutopilotForm(forms.Form):
    enabled = forms.BooleanField(label=_("Autopilot on"), required=False)
    every_days = forms.IntegerField(label=_("Send every (days)"), min_value=1, max_value=3650, initial=90)
    property_filter = JSONObjectField(label=_("Only people whose properties match"), required=False,
                                      help_text=_('e.g. {"plan": "pro"}; empty means everyone.'))
