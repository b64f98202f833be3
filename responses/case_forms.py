"""Forms of the case pages: parsing only (rules live in responses/cases.py)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from responses.cases import TEAM_ROLES
from responses.models import Case, CaseSettings, FollowUpRule
from surveys.models import ScoreGroup

WEEKDAYS = [(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")), (5, _("Friday")),
            (6, _("Saturday")), (7, _("Sunday"))]


def team_queryset(account: Account) -> Any:
    return get_user_model().objects.filter(memberships__account=account,
                                           memberships__role__in=TEAM_ROLES).order_by("username")


class CaseFilterForm(forms.Form):
    view = forms.ChoiceField(label=_("Show"), required=False, choices=[
        ("mine", _("My open cases")), ("open", _("All open cases")), ("all", _("All cases"))])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))] + Case.Status.choices)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    survey = forms.ModelChoiceField(label=_("Survey"), required=False, queryset=None, empty_label=_("Any"))

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = account.surveys.order_by("name")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Case.Status.choices)
    channel = forms.ChoiceField(choices=Case.ContactChannel.choices, required=False)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class TagsForm(forms.Form):
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))


class ReplyForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Member"), required=False, queryset=None, empty_label=_("Nobody"))
    assignee_email = forms.EmailField(label=_("or email address"), required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team_queryset(account)


class CaseSettingsForm(forms.ModelForm):
    business_days = forms.TypedMultipleChoiceField(label=_("Business days"), choices=WEEKDAYS, coerce=int,
                                                   widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = CaseSettings
        fields = ["business_start", "business_end", "business_days", "detractor_sla_minutes", "other_sla_hours",
                  "escalate_admins_after_minutes", "holdout_percent"]
        labels = {
            "business_start": _("Business hours start"), "business_end": _("Business hours end"),
            "detractor_sla_minutes": _("Detractors: contact within (business minutes; after hours, counted "
                                       "from the next opening)"),
            "other_sla_hours": _("Passives and promoters: contact within (hours)"),
            "escalate_admins_after_minutes": _("Alert admins this many minutes after the due time"),
            "holdout_percent": _("Holdout experiment: share of detractor cases left without outreach (%)"),
        }
        widgets = {"business_start": forms.TimeInput(attrs={"type": "time"}),
                   "business_end": forms.TimeInput(attrs={"type": "time"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["business_days"] = self.instance.weekdays


class CaseRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    score_groups = forms.MultipleChoiceField(label=_("Score groups"), choices=ScoreGroup.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    survey = forms.ModelChoiceField(label=_("Survey"), required=False, queryset=None, empty_label=_("Any survey"))
    property_name = forms.CharField(label=_("Property name"), max_length=64, required=False)
    property_value = forms.CharField(label=_("Property value"), max_length=500, required=False)
    requires_comment = forms.BooleanField(label=_("Only responses with a comment"), required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = account.surveys.order_by("name")


class RoutingRuleForm(forms.Form):
    property_name = forms.CharField(label=_("Property name"), max_length=64, help_text=_("For example store."))
    property_value = forms.CharField(label=_("Property value"), max_length=500)
    assignee = forms.ModelChoiceField(label=_("Member"), required=False, queryset=None, empty_label="—")
    assignee_email = forms.EmailField(label=_("or email address"), required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team_queryset(account)


class FollowUpRuleForm(forms.Form):
    group = forms.ChoiceField(label=_("Send to"), choices=FollowUpRule.GROUPS)
    survey = forms.ModelChoiceField(label=_("Survey"), required=False, queryset=None,
                                    empty_label=_("Every survey without its own follow-up"))
    enabled = forms.BooleanField(label=_("Send it"), required=False, initial=True)
    delay_minutes = forms.IntegerField(label=_("Send after (minutes)"), min_value=0, initial=60)
    subject = forms.CharField(label=_("Subject"), max_length=200, help_text=_("Placeholders like {{name}} work."))
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))
    action = forms.ChoiceField(label=_("Action"), choices=FollowUpRule.Action.choices,
                               help_text=_("The link is the survey's thank-you action for this group; clicks are "
                                           "counted in the outreach report."))
    link_text = forms.CharField(label=_("Link text"), max_length=100, required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = account.surveys.order_by("name")
