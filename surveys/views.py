"""Pages of surveys, people, imports and invitations, under /app/<account>/surveys/."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from surveys import selectors, services
from surveys.forms import (
    AutopilotForm,
    ImportMappingForm,
    ImportUploadForm,
    PersonForm,
    QuestionForm,
    SendForm,
    SurveyCreateForm,
    SurveyEditForm,
    ThankYouForm,
)
from surveys.models import Autopilot, Invitation, Person, PersonImport, Question


def _errors_to_form(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# Surveys ---------------------------------------------------------------------------------------

def survey_list(request: HttpRequest, account: str) -> HttpResponse:
    surveys = request.account.surveys.order_by("status", "-created_at")
    return render(request, "surveys/survey_list.html", {"surveys": surveys})


def survey_create(request: HttpRequest, account: str) -> HttpResponse:
    form = SurveyCreateForm(request.POST or None, initial={"locale": request.account.default_locale})
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.create_survey(account=request.account, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Survey created."))
            return redirect(survey)
    return render(request, "surveys/survey_form.html", {"form": form, "title": _("New survey")})


def survey_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    autopilot = Autopilot.objects.filter(account=request.account, survey=survey).first()
    context = {
        "survey": survey, "counts": services.invitation_counts(account=request.account, survey=survey),
        "questions": survey.questions.order_by("position", "pk"),
        "link_url": f"{settings.SITE_URL}/s/{survey.public_id}",
        "autopilot_form": AutopilotForm(initial={
            "enabled": autopilot.enabled if autopilot else False,
            "every_days": autopilot.every_days if autopilot else 90,
            "property_filter": autopilot.property_filter if autopilot else {}}),
        "autopilot": autopilot,
    }
    return render(request, "surveys/survey_detail.html", context)


def survey_edit(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    form = SurveyEditForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items()}
        survey.refresh_from_db()
        try:
            services.update_survey(survey=survey, **data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Survey saved."))
            return redirect(survey)
    return render(request, "surveys/survey_form.html", {"form": form, "survey": survey, "title": _("Edit survey")})


def survey_email(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """The real invitation email (HTML), rendered for a sample person: what respondents receive."""
    survey = get_object_or_404(request.account.surveys, pk=pk)
    person = request.account.people.filter(email__isnull=False).first()
    sample = Invitation(account=request.account, survey=survey,
                        person=person or Person(account=request.account, email="someone@example.com",
                                                name=_("Sample person")))
    rendered = services.render_invitation(invitation=sample, raw_token=None, preview=True)
    if request.GET.get("format") == "text":
        return HttpResponse(rendered.text, content_type="text/plain; charset=utf-8")
    return render(request, "surveys/survey_email.html", {"survey": survey, "rendered": rendered})


@require_POST
def survey_pause(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    services.pause_survey(survey=survey)
    messages.success(request, _("Survey paused: nothing more is sent until you resume it."))
    return redirect(survey)


@require_POST
def survey_resume(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    services.resume_survey(survey=survey)
    messages.success(request, _("Survey active again."))
    return redirect(survey)


@require_POST
def survey_archive(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    services.archive_survey(survey=survey)
    messages.success(request, _("Survey archived; its scheduled invitations were cancelled."))
    return redirect(survey)


def survey_questions(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """The extra questions editor: the ordered list and a form to add one."""
    survey = get_object_or_404(request.account.surveys, pk=pk)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            position = (survey.questions.order_by("-position").values_list("position", flat=True).first() or 0) + 1
            question = form.save(commit=False)
            question.account, question.survey, question.position = request.account, survey, position
            question.choices = form.cleaned_data["choices"]
            question.save()
        messages.success(request, _("Question added."))
        return redirect("surveys:survey-questions", account=account, pk=pk)
    return render(request, "surveys/survey_questions.html",
                  {"survey": survey, "form": form, "questions": survey.questions.order_by("position", "pk")})


def question_edit(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    question = get_object_or_404(request.account.questions, pk=pk)
    form = QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        question = form.save(commit=False)
        question.choices = form.cleaned_data["choices"]
        question.save()
        messages.success(request, _("Question saved."))
        return redirect("surveys:survey-questions", account=account, pk=question.survey_id)
    return render(request, "surveys/question_form.html", {"form": form, "question": question})


@require_POST
def question_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    question = get_object_or_404(request.account.questions, pk=pk)
    survey_id = question.survey_id
    question.delete()
    messages.success(request, _("Question deleted."))
    return redirect("surveys:survey-questions", account=account, pk=survey_id)


@require_POST
def question_move(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """Swap a question with its neighbour (``direction`` up or down)."""
    question = get_object_or_404(request.account.questions, pk=pk)
    with transaction.atomic():
        ordered = list(question.survey.questions.select_for_update().order_by("position", "pk"))
        index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
        other = index - 1 if request.POST.get("direction") == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered, start=1):
            Question.objects.filter(pk=item.pk).update(position=position)
    return redirect("surveys:survey-questions", account=account, pk=question.survey_id)


def survey_thankyou(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    form = ThankYouForm(request.POST or None, survey=survey)
    if request.method == "POST" and form.is_valid():
        services.update_survey(survey=survey, thank_you=form.thank_you(),
                               redirect_url=form.cleaned_data["redirect_url"])
        messages.success(request, _("Thank-you pages saved."))
        return redirect(survey)
    return render(request, "surveys/survey_form.html",
                  {"form": form, "survey": survey, "title": _("Thank-you pages")})


@require_POST
def survey_autopilot(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    survey = get_object_or_404(request.account.surveys, pk=pk)
    form = AutopilotForm(request.POST)
    if form.is_valid():
        services.set_autopilot(survey=survey, **form.cleaned_data)
        messages.success(request, _("Autopilot saved."))
    else:
        messages.error(request, _("Autopilot not saved: %(e)s") % {"e": "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items())})
    return redirect(survey)


def survey_send(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """Send now or with a delay: to selected people, a property-filtered segment or an import."""
    survey = get_object_or_404(request.account.surveys, pk=pk)
    initial = {"person_ids": request.GET.get("people", ""), "target": "selected" if request.GET.get("people")
               else "segment"}
    form = SendForm(request.POST or None, account=request.account, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["target"] == "selected":
            ids = [int(i) for i in data["person_ids"].split(",") if i.strip().isdecimal()]
            people = request.account.people.filter(pk__in=ids)
        elif data["target"] == "import" and data["person_import"]:
            people = request.account.people.filter(
                pk__in=_import_people(request.account, data["person_import"]))
        else:
            people = services.segment(request.account, data["property_filter"])
        try:
            count = services.send_survey_to(survey=survey, people=people,
                                            scheduled_at=timezone.now() + timedelta(minutes=data["delay_minutes"]))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("%(n)d invitation(s) scheduled.") % {"n": count})
            return redirect(reverse("surveys:invitation-list", kwargs={"account": account}) + f"?survey={survey.pk}")
    return render(request, "surveys/survey_send.html", {"form": form, "survey": survey})


def _import_people(account, job: PersonImport):
    """People created or updated by an import: those updated since it started."""
    return account.people.filter(updated_at__gte=job.created_at, updated_at__lte=job.finished_at or timezone.now()
                                 ).values("pk")


# Invitations -------------------------------------------------------------------------------------

def invitation_list(request: HttpRequest, account: str) -> HttpResponse:
    rows = request.account.invitations.select_related("person", "survey").order_by("-scheduled_at", "-pk")
    survey = None
    if request.GET.get("survey", "").isdecimal():
        survey = request.account.surveys.filter(pk=request.GET["survey"]).first()
        rows = rows.filter(survey=survey) if survey else rows.none()
    status = request.GET.get("status", "")
    if status in Invitation.Status.values:
        rows = rows.filter(status=status)
    counts = services.invitation_counts(account=request.account, survey=survey)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "surveys/invitation_list.html", {
        "page": page, "counts": [(value, label, counts.get(value, 0)) for value, label in Invitation.Status.choices],
        "status": status, "survey": survey})


@require_POST
def invitation_cancel(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    invitation = get_object_or_404(request.account.invitations, pk=pk)
    if services.cancel_invitation(invitation=invitation):
        messages.success(request, _("Invitation cancelled."))
    else:
        messages.error(request, _("This invitation has already left; it cannot be cancelled."))
    return redirect("surveys:invitation-list", account=account)


@require_POST
def invitation_resend(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    invitation = get_object_or_404(request.account.invitations, pk=pk)
    if services.resend_invitation(invitation=invitation):
        messages.success(request, _("The invitation will be sent again."))
    else:
        messages.error(request, _("Only failed or interrupted invitations can be sent again."))
    return redirect("surveys:invitation-list", account=account)


def suppression_list(request: HttpRequest, account: str) -> HttpResponse:
    """Addresses this account never emails, with why and when (hard bounces of any account included)."""
    rows = request.account.suppressions.order_by("-created_at")
    q = request.GET.get("q", "").strip().lower()
    if q:
        rows = rows.filter(email__icontains=q)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "surveys/suppression_list.html", {"page": page, "q": q})


# People ------------------------------------------------------------------------------------------

def person_list(request: HttpRequest, account: str) -> HttpResponse:
    q, prop = request.GET.get("q", ""), request.GET.get("property", "")
    people = selectors.search_people(account=request.account, q=q, properties=selectors.parse_property_filter(prop))
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(request, "surveys/person_list.html", {
        "page": page, "q": q, "property": prop, "surveys": request.account.surveys.filter(status="active"),
        "export_query": request.GET.urlencode()})


def person_create(request: HttpRequest, account: str) -> HttpResponse:
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person, _created = services.upsert_person(account=request.account, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Person saved."))
            return redirect(person)
    return render(request, "surveys/survey_form.html", {"form": form, "title": _("Add a person")})


def person_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    person = get_object_or_404(request.account.people, pk=pk)
    return render(request, "surveys/person_detail.html", {
        "person": person, "invitations": person.invitations.select_related("survey").order_by("-scheduled_at")[:100],
        "suppression": services.suppression_reason(account=request.account, email=person.email or "")})


@require_POST
def person_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """GDPR erasure of the person and everything about them."""
    person = get_object_or_404(request.account.people, pk=pk)
    services.erase_person(person=person)
    messages.success(request, _("The person and all their data were deleted."))
    return redirect("surveys:person-list", account=account)


def person_export(request: HttpRequest, account: str) -> StreamingHttpResponse:
    people = selectors.search_people(account=request.account, q=request.GET.get("q", ""),
                                     properties=selectors.parse_property_filter(request.GET.get("property", "")))
    response = StreamingHttpResponse(selectors.export_people_csv(people), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="people-{account}.csv"'
    return response


def personimport_create(request: HttpRequest, account: str) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.create_person_import(account=request.account, upload=form.cleaned_data["file"],
                                                user=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            return redirect(job)
    imports = request.account.person_imports.order_by("-created_at")[:20]
    return render(request, "surveys/import_upload.html", {"form": form, "imports": imports})


def personimport_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """Map the columns (with a preview), then watch the progress bar."""
    job = get_object_or_404(request.account.person_imports, pk=pk)
    if job.status != PersonImport.Status.MAPPING:
        return render(request, "surveys/import_progress.html", {"job": job})
    header, preview = services.import_preview(job)
    form = ImportMappingForm(request.POST or None, header=header, mapping=job.mapping, account=request.account)
    if request.method == "POST" and form.is_valid():
        delay = form.cleaned_data.get("delay_minutes") or 0
        try:
            services.start_person_import(job=job, mapping=form.mapping(), send_survey=form.cleaned_data["send_survey"],
                                         send_at=timezone.now() + timedelta(minutes=delay))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            return redirect(job)
    return render(request, "surveys/import_mapping.html", {"job": job, "form": form, "header": header,
                                                           "preview": preview})


def personimport_progress(request: HttpRequest, account: str, pk: int) -> JsonResponse:
    job = get_object_or_404(request.account.person_imports, pk=pk)
    return JsonResponse({"status": job.status, "percent": job.percent, "processed": job.processed_rows,
                         "total": job.total_rows, "created": job.created_count, "updated": job.updated_count,
                         "errors": job.error_count})


@require_POST
def sending_resume(request: HttpRequest, account: str) -> HttpResponse:
    """An owner resumes the account's sending after a pause (EM-8: the complaint window restarts)."""
    from django.core.exceptions import PermissionDenied

    from accounts.models import Role
    from surveys.services.complaints import resume_sending

    if not request.membership.has_role(Role.OWNER):
        raise PermissionDenied
    resume_sending(account=request.account, by=request.user)
    messages.success(request, _("Sending resumed."))
    return redirect("accounts:settings", account=account)
