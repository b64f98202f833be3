"""Writes of reports: monthly report recipients, sending the monthly report (idempotent per month) and
agents' self-assessments."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Membership
from accounts.scoping import account_scope, cross_account
from accounts.tasks_util import enqueue_on_commit
from reports import monthly
from reports.models import MonthlyReport, ReportRecipient, SelfAssessment
from reports.periods import first_working_day

logger = logging.getLogger("verbatim")
SEND_FROM_HOUR = 6  # local hour of the first working day from which the report goes out
STALE_CLAIM = timedelta(hours=1)


def _require_manager(membership: Membership) -> None:
    if membership is None or not membership.can_manage:
        raise PermissionDenied(_("Only admins choose who receives the monthly report."))


@transaction.atomic
def add_report_recipient(*, account: Account, membership: Membership, user_id: int | None = None,
                         email: str = "") -> ReportRecipient:
    """Add a member (``user_id``) or a plain address (``email``) to the monthly report's recipients."""
    _require_manager(membership)
    email = (email or "").strip().lower()
    user = None
    if user_id:
        member = account.memberships.filter(user_id=user_id).select_related("user").first()
        if member is None:
            raise ValidationError({"user": _("Choose a member of this account.")})
        user = member.user
        email = ""
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": _("Enter a valid email address.")}) from None
        existing = get_user_model().objects.filter(email__iexact=email, memberships__account=account).first()
        if existing is not None:
            user, email = existing, ""
    else:
        raise ValidationError({"email": _("Choose a member or enter an email address.")})
    try:
        with transaction.atomic():
            return ReportRecipient.objects.create(account=account, user=user, email=email)
    except IntegrityError:
        raise ValidationError({"email": _("This recipient is already on the list.")}) from None


@transaction.atomic
def remove_report_recipient(*, recipient: ReportRecipient, membership: Membership) -> None:
    _require_manager(membership)
    recipient.delete()


def recipient_addresses(account: Account) -> list[str]:
    out: dict[str, None] = {}
    for recipient in account.report_recipients.select_related("user"):
        if recipient.address:
            out[recipient.address.lower()] = None
    return list(out)


def report_message(*, account: Account, report: dict, to: str, pdf: bytes, png: bytes, url: str,
                   preview: bool = False, connection=None) -> EmailMultiAlternatives:
    month = report["month"].strftime("%B %Y")
    subject = (_("[Preview] ") if preview else "") + _("%(account)s: feedback report for %(month)s") % {
        "account": account.name, "month": month}
    lead = next((s for s in report["summaries"] if s.survey == report["lead"]), None)
    text = _("Your monthly feedback report for %(month)s.") % {"month": month}
    if lead and lead.headline.value is not None:
        text += f"\n{lead.headline.label}: {lead.headline.value:.1f} (n={lead.headline.total})"
    text += "\n" + _("Open it in the browser: %(url)s") % {"url": url}
    message = EmailMultiAlternatives(subject, text, account.from_email, [to], connection=connection)
    message.attach_alternative(monthly.render_html(report, mode="email", url=url), "text/html")
    image = MIMEImage(png, "png")
    image.add_header("Content-ID", "<trend>")
    image.add_header("Content-Disposition", "inline", filename="trend.png")
    message.attach(image)
    message.attach(f"feedback-report-{report['month']:%Y-%m}.pdf", pdf, "application/pdf")
    return message


def _render(account: Account, report_month, url: str) -> tuple[dict, bytes, bytes]:
    report = monthly.build_report(account, report_month)
    return report, monthly.render_pdf(report, base_url=settings.SITE_URL), monthly.trend_png(report)


def send_monthly_report(*, report_id: int) -> int:
    """Send one month's report to every recipient not yet sent to; returns how many were sent now.

    Claimed by a conditional UPDATE (pending, or a claim older than an hour after a crash): a duplicate
    task finds nothing to claim. Each address is recorded in ``sent_to`` right after its send, so a
    retry never mails anyone twice.
    """
    now = timezone.now()
    claimed = (MonthlyReport.objects.filter(pk=report_id)
               .filter(models_q_claimable(now)).update(status=MonthlyReport.Status.SENDING, claimed_at=now))
    if claimed != 1:
        return 0
    report_row = MonthlyReport.objects.select_related("account").get(pk=report_id)
    account = report_row.account
    url = settings.SITE_URL + report_row.get_absolute_url()
    sent = 0
    try:
        report, pdf, png = _render(account, report_row.month, url)
        connection = get_connection()
        with connection:
            for address in recipient_addresses(account):
                if address in report_row.sent_to:
                    continue
                report_message(account=account, report=report, to=address, pdf=pdf, png=png, url=url,
                               connection=connection).send()
                report_row.sent_to = [*report_row.sent_to, address]
                MonthlyReport.objects.filter(pk=report_row.pk).update(sent_to=report_row.sent_to)
                sent += 1
    except Exception:
        # Release the claim so the task's retry (or the next beat run) picks it up; sent_to is kept.
        MonthlyReport.objects.filter(pk=report_row.pk).update(status=MonthlyReport.Status.PENDING)
        raise
    MonthlyReport.objects.filter(pk=report_row.pk).update(status=MonthlyReport.Status.SENT, sent_at=timezone.now())
    return sent


def models_q_claimable(now: datetime):
    from django.db.models import Q

    return Q(status=MonthlyReport.Status.PENDING) | Q(status=MonthlyReport.Status.SENDING,
                                                     claimed_at__lt=now - STALE_CLAIM)


def send_report_preview(*, account: Account, user) -> str:
    """Send the last complete month's report to the user now (not recorded; recipients unchanged)."""
    address = user.email or user.username
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": _("Your account has no email address to send the preview to.")}) from None
    month = monthly.previous_month(timezone.now().astimezone(account.tz).date())
    report_row = account.monthly_reports.filter(month=month).first()
    url = settings.SITE_URL + (report_row.get_absolute_url() if report_row else
                               f"/app/{account.slug}/reports/monthly/")
    report, pdf, png = _render(account, month, url)
    report_message(account=account, report=report, to=address, pdf=pdf, png=png, url=url, preview=True).send()
    return address


def ensure_monthly_report(*, account: Account, month) -> MonthlyReport:
    """The row of one (account, month), created once (the unique constraint makes it idempotent)."""
    report, _created = MonthlyReport.objects.get_or_create(account=account, month=month)
    return report


def queue_due_monthly_reports(*, now: datetime | None = None) -> list[int]:
    """Create and enqueue this month's report of every account whose first working day has come.

    Runs from beat every 15 minutes. "Due" means: in the account's time zone, today is on or after
    the month's first working day (Monday to Friday) and past 06:00, and the account has recipients.
    A missed run (beat down) catches up later in the month; the (account, month) row is unique.
    """
    from reports import tasks

    now = now or timezone.now()
    queued = []
    with cross_account():  # the beat task looks at every account on purpose
        account_ids = list(ReportRecipient.objects.values_list("account_id", flat=True).distinct())
        accounts = list(Account.objects.filter(pk__in=account_ids))
    for account in accounts:
        local = now.astimezone(account.tz)
        if local.date() < first_working_day(local.year, local.month) or (
                local.date() == first_working_day(local.year, local.month) and local.hour < SEND_FROM_HOUR):
            continue
        with account_scope(account), transaction.atomic():
            report = ensure_monthly_report(account=account, month=monthly.previous_month(local.date()))
            if MonthlyReport.objects.filter(pk=report.pk).filter(models_q_claimable(now)).exists():
                enqueue_on_commit(tasks.send_monthly_report, account.pk, report.pk)
                queued.append(report.pk)
    return queued


def record_self_assessment(*, account: Account, survey_id: int | None, agent: str, score: int | None,
                           interaction: str = "", comment: str = "") -> SelfAssessment:
    """Record an agent's own rating of an interaction on the survey's scale.

    Raises ``ValidationError`` naming the field: a survey of another account is an unknown survey, and
    the score must lie on that survey's scale (0-10 for NPS, 1-7 for CES...)."""
    agent = (agent or "").strip()
    errors: dict[str, str] = {}
    survey = account.surveys.filter(pk=survey_id).first() if survey_id is not None else None
    if survey is None:
        errors["survey"] = _("Choose one of your surveys.")
    if not agent:
        errors["agent"] = _("Name the agent.")
    elif len(agent) > 200:
        errors["agent"] = _("At most 200 characters.")
    if score is None:
        errors["score"] = _("Give a score.")
    elif survey is not None and score not in survey.scores:
        errors["score"] = _("On this survey's scale: %(low)s to %(high)s.") % {
            "low": survey.scale_min, "high": survey.scale_max}
    if len(interaction or "") > 200:
        errors["interaction"] = _("At most 200 characters.")
    if len(comment or "") > 2000:
        errors["comment"] = _("At most 2000 characters.")
    if errors:
        raise ValidationError(errors)
    return SelfAssessment.objects.create(account=account, survey=survey, agent=agent, score=score,
                                         interaction=(interaction or "").strip(), comment=(comment or "").strip())
