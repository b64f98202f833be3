"""Report pages under /app/<account>/reports/: dashboards, segments, comments, agents, exports, monthly report."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from smtplib import SMTPException

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports import exports, monthly, pages, selectors, services
from reports.forms import SelfAssessmentForm
from reports.periods import PRESETS

logger = logging.getLogger("verbatim")


def _today(request: HttpRequest):
    return timezone.now().astimezone(request.account.tz).date()


def with_params(view: Callable) -> Callable:
    """Parse the shared report query string; bad input answers 400 naming the field."""

    @wraps(view)
    def wrapper(request: HttpRequest, account: str, *args, **kwargs) -> HttpResponse:
        try:
            params = pages.parse_params(request.account, request.GET, today=_today(request))
        except ValidationError as error:
            return HttpResponseBadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))
        return view(request, params, *args, **kwargs)

    return wrapper


def _context(request: HttpRequest, p: pages.Params, **extra) -> dict:
    return {"p": p, "presets": list(PRESETS), "query": urlencode(p.query()), **extra}


@require_GET
@with_params
def overview(request: HttpRequest, p: pages.Params) -> HttpResponse:
    return render(request, "reports/overview.html", _context(request, p, **pages.overview(request.account, p)))


@require_GET
@with_params
def segments(request: HttpRequest, p: pages.Params) -> HttpResponse:
    return render(request, "reports/segments.html", _context(request, p, **pages.segments(request.account, p)))


@require_GET
@with_params
def comments(request: HttpRequest, p: pages.Params) -> HttpResponse:
    scope = selectors.Scope(request.account, tuple(p.surveys), p.period, p.scope(request.account).filters)
    group, text, tag = (request.GET.get(k, "")[:200] for k in ("group", "q", "tag"))
    feed = Paginator(selectors.comments(scope, group=group, text=text, tag=tag), 50).get_page(request.GET.get("page"))
    return render(request, "reports/comments.html", _context(
        request, p, feed=feed, group=group, q=text, tag=tag, **pages.theme_page(request.account, p)))


@require_GET
@with_params
def agents(request: HttpRequest, p: pages.Params) -> HttpResponse:
    return render(request, "reports/agents.html", _context(request, p, **pages.agents(request.account, p)))


@require_GET
@with_params
def export_chart(request: HttpRequest, p: pages.Params) -> HttpResponse:
    """The table behind a chart as CSV (``?chart=trend|distribution|surveys|segments|themes|agents``)."""
    chart = request.GET.get("chart", "")
    try:
        table = pages.chart_table(request.account, p, chart)
    except ValidationError as error:
        return HttpResponseBadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))
    response = StreamingHttpResponse(exports.csv_lines(iter([table.header, *table.rows])),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{request.account.slug}-{chart}.csv"'
    return response


@require_GET
@with_params
def export_responses(request: HttpRequest, p: pages.Params) -> HttpResponse:
    """All responses of the period (every survey unless one is chosen) with answers and properties."""
    surveys = (p.survey,) if request.GET.get("survey") else tuple(p.surveys)
    scope = selectors.Scope(request.account, surveys, p.period, p.scope(request.account).filters)
    rows = exports.in_scope(request.account, lambda: exports.export_rows(selectors.raw_responses(scope)))
    name = f"{request.account.slug}-responses-{p.period.start}-{p.period.end}"
    if request.GET.get("format") == "xlsx":
        return FileResponse(exports.xlsx_file(rows), as_attachment=True, filename=f"{name}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response = StreamingHttpResponse(exports.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@require_http_methods(["GET", "POST"])
def self_assessment_create(request: HttpRequest, account: str) -> HttpResponse:
    """An agent (or their lead) records a self-assessment of one interaction; ``?agent=`` pre-fills the name."""
    if request.method == "POST":
        form = SelfAssessmentForm(request.POST, account=request.account)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_self_assessment(account=request.account, survey_id=data["survey"],
                                                agent=data["agent"], score=data["score"],
                                                interaction=data["interaction"], comment=data["comment"])
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Self-assessment recorded."))
                return redirect(reverse("reports:agents", kwargs={"account": account}))
    else:
        form = SelfAssessmentForm(initial={"agent": request.GET.get("agent", "")[:200]}, account=request.account)
    recent = request.account.self_assessments.select_related("survey")[:20]
    return render(request, "reports/self_assessment_form.html", {
        "form": form, "recent": recent, "can_edit": request.membership.can_edit})


# --- the monthly report ----------------------------------------------------------------------------

@require_GET
def monthly_reports(request: HttpRequest, account: str) -> HttpResponse:
    account_obj = request.account
    return render(request, "reports/monthly_list.html", {
        "reports": account_obj.monthly_reports.all()[:24],
        "recipients": account_obj.report_recipients.select_related("user"),
        "members": account_obj.memberships.select_related("user").order_by("user__username"),
        "can_manage": request.membership.can_manage,
        "preview_month": monthly.previous_month(_today(request)),
    })


@require_GET
def monthly_report(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    report_row = get_object_or_404(request.account.monthly_reports, pk=pk)
    report = monthly.build_report(request.account, report_row.month)
    return render(request, "reports/monthly_report.html", {
        "report_row": report_row, "document": monthly.render_html(report, mode="page")})


@require_GET
def monthly_report_pdf(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    report_row = get_object_or_404(request.account.monthly_reports, pk=pk)
    pdf = monthly.render_pdf(monthly.build_report(request.account, report_row.month), base_url=settings.SITE_URL)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="feedback-report-{report_row.month:%Y-%m}.pdf"'
    return response


@require_GET
def monthly_report_latest(request: HttpRequest, account: str) -> HttpResponse:
    """The stable link to last month's report (created on first view, not sent)."""
    month = monthly.previous_month(_today(request))
    report_row = request.account.monthly_reports.filter(month=month).first()
    if report_row is None:
        report = monthly.build_report(request.account, month)
        return render(request, "reports/monthly_report.html", {
            "report_row": None, "month": month, "document": monthly.render_html(report, mode="page")})
    return redirect(report_row)


@require_POST
def add_recipient(request: HttpRequest, account: str) -> HttpResponse:
    try:
        services.add_report_recipient(account=request.account, membership=request.membership,
                                      user_id=int(request.POST["user"]) if request.POST.get("user", "").isdecimal()
                                      else None, email=request.POST.get("email", ""))
        messages.success(request, _("Recipient added."))
    except ValidationError as error:
        for errors in error.message_dict.values():
            for message in errors:
                messages.error(request, message)
    return redirect(reverse("reports:monthly", kwargs={"account": account}))


@require_POST
def delete_recipient(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    recipient = get_object_or_404(request.account.report_recipients, pk=pk)
    services.remove_report_recipient(recipient=recipient, membership=request.membership)
    messages.success(request, _("Recipient removed."))
    return redirect(reverse("reports:monthly", kwargs={"account": account}))


@require_POST
def send_preview(request: HttpRequest, account: str) -> HttpResponse:
    try:
        address = services.send_report_preview(account=request.account, user=request.user)
        messages.success(request, _("A preview was sent to %(address)s.") % {"address": address})
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    except (SMTPException, OSError):
        logger.warning("monthly report preview failed for account %s", request.account.pk, exc_info=True)
        messages.error(request, _("The mail server did not take the preview; please try again later."))
    return redirect(reverse("reports:monthly", kwargs={"account": account}))
