"""Follow-up case pages, under /app/<account>/responses/cases/ (AccountMiddleware sets the scope).

Members and above work cases (viewers read: the middleware refuses their POSTs); the settings and
the experiment report are for owners and admins.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.views import managers_only
from responses import case_selectors, cases, followups
from responses.case_forms import (
    AssignForm,
    CaseFilterForm,
    CaseRuleForm,
    CaseSettingsForm,
    FollowUpRuleForm,
    NoteForm,
    ReplyForm,
    RoutingRuleForm,
    StatusForm,
    TagsForm,
)
from responses.models import Case


def _case(request: HttpRequest, pk: int) -> Case:
    """The account's case; a held-out case exists only for owners and admins (never a surprise to them)."""
    qs = request.account.cases.select_related("response", "response__survey", "person", "assignee", "account")
    if not request.membership.can_manage:
        qs = qs.filter(holdout=False)
    return get_object_or_404(qs, pk=pk)


def _apply(request: HttpRequest, form: Form, service: Callable[..., Any], success: str, **kwargs: Any) -> bool:
    """Run the service with the form's data; errors become messages (the case page shows them)."""
    if not form.is_valid():
        for field_errors in form.errors.values():
            messages.error(request, " ".join(field_errors))
        return False
    try:
        service(**kwargs, **form.cleaned_data)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return False
    messages.success(request, success)
    return True


def case_list(request: HttpRequest, account: str) -> HttpResponse:
    """The inbox: my open cases by default, overdue first."""
    form = CaseFilterForm(request.GET or None, account=request.account)
    filters = form.cleaned_data if form.is_valid() else {}
    survey = filters.get("survey")
    qs = case_selectors.inbox(request.account, user=request.user, view=filters.get("view") or "mine",
                              status=filters.get("status") or "", overdue=bool(filters.get("overdue")),
                              survey_id=survey.pk if survey else None)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "responses/cases/list.html", {
        "form": form, "page": page, "can_manage": request.membership.can_manage})


def case_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    context = case_selectors.case_detail(case)
    context.update(note_form=NoteForm(), reply_form=ReplyForm(), tags_form=TagsForm(
        initial={"tags": ", ".join(case.response.tags or [])}), assign_form=AssignForm(
        account=request.account, initial={"assignee": case.assignee_id, "assignee_email": case.assignee_email}),
        statuses=Case.Status.choices, channels=Case.ContactChannel.choices[1:])
    return render(request, "responses/cases/detail.html", context)


@require_POST
def case_status(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = StatusForm(request.POST)
    _apply(request, form, cases.change_case_status, _("Case updated."), case=case, by=request.user)
    return redirect(case)


@require_POST
def case_note(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    _apply(request, NoteForm(request.POST), cases.add_response_note, _("Note added."), response=case.response,
           by=request.user)
    return redirect(case)


@require_POST
def case_tags(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    _apply(request, TagsForm(request.POST), cases.set_response_tags, _("Tags saved."), response=case.response,
           by=request.user)
    return redirect(case)


@require_POST
def case_assign(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    _apply(request, AssignForm(request.POST, account=request.account), cases.assign_case, _("Case assigned."),
           case=case, by=request.user)
    return redirect(case)


@require_POST
def case_reply(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    case = _case(request, pk)
    _apply(request, ReplyForm(request.POST), cases.reply_to_case, _("Email sent and recorded."), case=case,
           by=request.user)
    return redirect(case)


@require_POST
def response_note(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """A note on any response (not only those with a case)."""
    response = get_object_or_404(request.account.responses, pk=pk)
    _apply(request, NoteForm(request.POST), cases.add_response_note, _("Note added."), response=response,
           by=request.user)
    return redirect(response)


@require_POST
def response_tags(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    response = get_object_or_404(request.account.responses, pk=pk)
    _apply(request, TagsForm(request.POST), cases.set_response_tags, _("Tags saved."), response=response,
           by=request.user)
    return redirect(response)


def _settings_page(request: HttpRequest, **forms: Form) -> HttpResponse:
    account = request.account
    row = cases.read_case_settings(account)  # GET never writes (no lazy default rule here)
    context = {
        "settings_form": CaseSettingsForm(instance=row),
        "rule_form": CaseRuleForm(account=account),
        "routing_form": RoutingRuleForm(account=account),
        "rules": list(account.case_rules.select_related("survey")),
        "routing_rules": list(account.routing_rules.select_related("assignee")),
        "follow_up_form": FollowUpRuleForm(account=account),
        "follow_up_rules": list(account.follow_up_rules.select_related("survey")),
        **forms,
    }
    return render(request, "responses/cases/settings.html", context, status=400 if forms else 200)


def _form_errors(form: Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@managers_only
def casesettings_edit(request: HttpRequest, account: str) -> HttpResponse:
    """Case rules, routing rules, SLA and business hours, holdout share."""
    if request.method != "POST":
        return _settings_page(request)
    form = CaseSettingsForm(request.POST, instance=cases.case_settings(request.account))
    if form.is_valid():
        try:
            cases.update_case_settings(account=request.account, **form.cleaned_data)
            messages.success(request, _("Case settings saved."))
            return redirect("responses:casesettings-edit", account=account)
        except ValidationError as exc:
            _form_errors(form, exc)
    return _settings_page(request, settings_form=form)


def _save_from_form(request: HttpRequest, account: str, form: Any, save: Any, done: str, page_key: str) -> HttpResponse:
    """The settings page's add/save forms: valid input goes to the service (which may still refuse it
    with a ValidationError naming the field); back to the page with the form and its errors otherwise."""
    if form.is_valid():
        try:
            save(account=request.account, **form.cleaned_data)
            messages.success(request, done)
            return redirect("responses:casesettings-edit", account=account)
        except ValidationError as exc:
            _form_errors(form, exc)
    return _settings_page(request, **{page_key: form})


def _delete(request: HttpRequest, account: str, delete: Any, rule: Any, done: str) -> HttpResponse:
    delete(rule=rule)
    messages.success(request, done)
    return redirect("responses:casesettings-edit", account=account)


@managers_only
@require_POST
def caserule_create(request: HttpRequest, account: str) -> HttpResponse:
    return _save_from_form(request, account, CaseRuleForm(request.POST, account=request.account),
                           cases.create_case_rule, _("Rule added."), "rule_form")


@managers_only
@require_POST
def caserule_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    return _delete(request, account, cases.delete_case_rule, get_object_or_404(request.account.case_rules, pk=pk),
                   _("Rule deleted."))


@managers_only
@require_POST
def routingrule_create(request: HttpRequest, account: str) -> HttpResponse:
    return _save_from_form(request, account, RoutingRuleForm(request.POST, account=request.account),
                           cases.create_routing_rule, _("Routing rule added."), "routing_form")


@managers_only
@require_POST
def routingrule_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    return _delete(request, account, cases.delete_routing_rule,
                   get_object_or_404(request.account.routing_rules, pk=pk), _("Routing rule deleted."))


@managers_only
@require_POST
def followuprule_save(request: HttpRequest, account: str) -> HttpResponse:
    """Create or replace the follow-up email of a score group (for one survey or every survey)."""
    return _save_from_form(request, account, FollowUpRuleForm(request.POST, account=request.account),
                           followups.save_follow_up_rule, _("Follow-up email saved."), "follow_up_form")


@managers_only
@require_POST
def followuprule_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    return _delete(request, account, followups.delete_follow_up_rule,
                   get_object_or_404(request.account.follow_up_rules, pk=pk), _("Follow-up email deleted."))


@managers_only
def case_experiment(request: HttpRequest, account: str) -> HttpResponse:
    """The holdout experiment report: contacted versus held-out detractors."""
    return render(request, "responses/cases/experiment.html", {
        "report": case_selectors.holdout_report(request.account),
        "clicks": case_selectors.action_clicks_report(request.account),
        "settings_row": cases.read_case_settings(request.account)})
