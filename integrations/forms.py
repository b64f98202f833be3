"""Forms of the integrations pages; querysets come from the request's account."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from integrations.models import EVENT_KINDS, WebhookEndpoint
from surveys.models import ScoreGroup


class FilterFieldsForm(forms.Form):
    """The response filters shared by Slack, webhooks and alert rules."""

    survey_ids = forms.TypedMultipleChoiceField(label=_("Only these surveys"), required=False, coerce=int,
                                                widget=forms.CheckboxSelectMultiple)
    score_groups = forms.MultipleChoiceField(label=_("Only these score groups"), required=False,
                                             choices=ScoreGroup.choices, widget=forms.CheckboxSelectMultiple)
    has_comment = forms.BooleanField(label=_("Only responses with a comment"), required=False)
    property_key = forms.CharField(label=_("Property name"), required=False, max_length=64,
                                   help_text=_("Only responses whose property equals the value below."))
    property_value = forms.CharField(label=_("Property value"), required=False, max_length=255)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["survey_ids"].choices = list(account.surveys.values_list("pk", "name"))

    def filters(self) -> dict[str, Any]:
        keys = ("survey_ids", "score_groups", "has_comment", "property_key", "property_value", "max_score",
                "comment_contains")
        return {k: self.cleaned_data[k] for k in keys if k in self.cleaned_data}


class SlackForm(FilterFieldsForm):
    name = forms.CharField(label=_("Name"), max_length=100, initial="#feedback")
    webhook_url = forms.CharField(label=_("Incoming webhook URL"), max_length=2048,
                                  help_text=_("In Slack: Apps → Incoming Webhooks → Add to Slack; "
                                              "copy the https://hooks.slack.com/services/… URL."))
    field_order = ["name", "webhook_url"]


class WebhookForm(FilterFieldsForm):
    url = forms.CharField(label=_("Endpoint URL"), max_length=2048)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    format = forms.ChoiceField(label=_("Format"), choices=WebhookEndpoint.Format.choices)
    events = forms.MultipleChoiceField(label=_("Events (none: all)"), required=False,
                                       choices=[(e, e) for e in EVENT_KINDS], widget=forms.CheckboxSelectMultiple)
    field_order = ["url", "description", "format", "events"]


class AlertRuleForm(FilterFieldsForm):
    name = forms.CharField(label=_("Name"), max_length=100, initial=_("Detractor alert"))
    max_score = forms.IntegerField(label=_("Score at or below"), required=False, min_value=0, max_value=10)
    comment_contains = forms.CharField(label=_("Comment contains"), required=False, max_length=200)
    members = forms.TypedMultipleChoiceField(label=_("Alert these members"), required=False, coerce=int,
                                             widget=forms.CheckboxSelectMultiple)
    emails = forms.CharField(label=_("Alert these addresses"), required=False,
                             help_text=_("Comma-separated email addresses."))
    routing_property = forms.CharField(label=_("Routing property"), required=False, max_length=64,
                                       help_text=_("e.g. store: the routing table picks the address for "
                                                   "the response's store."))
    send_email = forms.BooleanField(label=_("Send email"), required=False, initial=True)
    slack = forms.TypedChoiceField(label=_("Also post to Slack"), required=False, coerce=int, empty_value=None)
    field_order = ["name", "max_score", "score_groups", "survey_ids", "comment_contains", "property_key",
                   "property_value", "members", "emails", "routing_property", "send_email", "slack"]

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, account=account, **kwargs)
        self.fields.pop("has_comment")
        self.fields["members"].choices = [(m.user_id, m.user.email or m.user.username)
                                          for m in account.memberships.select_related("user")]
        self.fields["slack"].choices = [("", "—")] + list(account.slack_integrations.values_list("pk", "name"))


class AlertRouteForm(forms.Form):
    property_name = forms.CharField(label=_("Property"), max_length=64, initial="store")
    property_value = forms.CharField(label=_("Value"), max_length=255)
    email = forms.EmailField(label=_("Email"))
