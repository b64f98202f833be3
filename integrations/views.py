"""Pages of integrations under /app/<account>/integrations/: everyone sees, owners and admins change."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.views import add_errors, managers_only
from integrations import services
from integrations.forms import AlertRouteForm, AlertRuleForm, SlackForm, WebhookForm
from integrations.models import Delivery


def _home(request: HttpRequest) -> HttpResponse:
    return redirect("integrations:integration-list", account=request.account.slug)


def integration_list(request: HttpRequest, account: str) -> HttpResponse:
    """Slack channels, webhook endpoints, Zapier hooks and alert rules of the account."""
    acct = request.account
    return render(request, "integrations/index.html", {
        "slacks": acct.slack_integrations.order_by("name"),
        "endpoints": acct.webhook_endpoints.order_by("-created_at"),
        "zaps": acct.zapier_subscriptions.order_by("-created_at"),
        "rules": acct.alert_rules.prefetch_related("members").select_related("slack").order_by("name"),
        "can_manage": bool(request.membership and request.membership.can_manage),
    })


@managers_only
def slack_create(request: HttpRequest, account: str) -> HttpResponse:
    form = SlackForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        try:
            services.connect_slack(account=request.account, name=form.cleaned_data["name"],
                                   webhook_url=form.cleaned_data["webhook_url"], filters=form.filters(),
                                   by=request.user)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Slack channel connected. Send a test message to check it."))
            return _home(request)
    return render(request, "integrations/form.html", {"form": form, "title": _("Connect a Slack channel")},
                  status=400 if form.errors else 200)


@require_POST
@managers_only
def slack_test(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    slack = get_object_or_404(request.account.slack_integrations, pk=pk)
    services.send_test_message(target=slack)
    messages.success(request, _("Test message queued: see the delivery log."))
    return redirect("integrations:delivery-list", account=request.account.slug)


@require_POST
@managers_only
def slack_enable(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.enable_target(target=get_object_or_404(request.account.slack_integrations, pk=pk))
    messages.success(request, _("Slack channel enabled."))
    return _home(request)


@require_POST
@managers_only
def slack_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.delete_slack(integration=get_object_or_404(request.account.slack_integrations, pk=pk))
    messages.success(request, _("Slack channel disconnected."))
    return _home(request)


@managers_only
def webhook_create(request: HttpRequest, account: str) -> HttpResponse:
    form = WebhookForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = services.create_webhook_endpoint(
                account=request.account, url=data["url"], events=data["events"], format=data["format"],
                description=data["description"], filters=form.filters(), by=request.user)
        except ValidationError as error:
            add_errors(form, error)
        else:
            return redirect("integrations:webhookendpoint-detail", account=request.account.slug, pk=endpoint.pk)
    return render(request, "integrations/form.html", {"form": form, "title": _("Add a webhook endpoint")},
                  status=400 if form.errors else 200)


@managers_only
def webhook_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    """The endpoint, its signing secret (admins only) and its recent deliveries."""
    endpoint = get_object_or_404(request.account.webhook_endpoints, pk=pk)
    response = render(request, "integrations/webhook_detail.html", {
        "endpoint": endpoint, "deliveries": endpoint.deliveries.order_by("-created_at")[:50]})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@managers_only
def webhook_rotate(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(request.account.webhook_endpoints, pk=pk)
    services.rotate_webhook_secret(endpoint=endpoint)
    messages.success(request, _("New secret: deliveries carry both signatures for 24 hours."))
    return redirect("integrations:webhookendpoint-detail", account=request.account.slug, pk=pk)


@require_POST
@managers_only
def webhook_test(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.send_test_message(target=get_object_or_404(request.account.webhook_endpoints, pk=pk))
    messages.success(request, _("Test event queued: see the delivery log."))
    return redirect("integrations:delivery-list", account=request.account.slug)


@require_POST
@managers_only
def webhook_enable(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.enable_target(target=get_object_or_404(request.account.webhook_endpoints, pk=pk))
    messages.success(request, _("Endpoint enabled."))
    return redirect("integrations:webhookendpoint-detail", account=request.account.slug, pk=pk)


@require_POST
@managers_only
def webhook_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.delete_webhook_endpoint(endpoint=get_object_or_404(request.account.webhook_endpoints, pk=pk))
    messages.success(request, _("Endpoint removed."))
    return _home(request)


@require_POST
@managers_only
def zapier_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    sub = get_object_or_404(request.account.zapier_subscriptions, pk=pk)
    services.unsubscribe_zapier(account=request.account, subscription_id=sub.pk)
    messages.success(request, _("Zapier hook removed."))
    return _home(request)


@managers_only
def alert_create(request: HttpRequest, account: str) -> HttpResponse:
    acct = request.account
    form = AlertRuleForm(request.POST or None, account=acct)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_alert_rule(
                account=acct, name=data["name"], filters=form.filters(),
                members=[m.user for m in acct.memberships.select_related("user").filter(user_id__in=data["members"])],
                emails=data["emails"], routing_property=data["routing_property"], send_email=data["send_email"],
                slack=acct.slack_integrations.filter(pk=data["slack"]).first() if data["slack"] else None)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Alert rule created."))
            return _home(request)
    return render(request, "integrations/form.html", {"form": form, "title": _("New alert rule")},
                  status=400 if form.errors else 200)


@require_POST
@managers_only
def alert_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.delete_alert_rule(rule=get_object_or_404(request.account.alert_rules, pk=pk))
    messages.success(request, _("Alert rule removed."))
    return _home(request)


@managers_only
def route_list(request: HttpRequest, account: str) -> HttpResponse:
    """The routing table (e.g. store → manager's address); POST adds a row."""
    acct = request.account
    form = AlertRouteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_alert_route(account=acct, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Route added."))
            return redirect("integrations:alertroute-list", account=acct.slug)
    return render(request, "integrations/routes.html", {
        "form": form, "routes": acct.alert_routes.order_by("property_name", "property_value")},
        status=400 if form.errors else 200)


@require_POST
@managers_only
def route_delete(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    services.delete_alert_route(route=get_object_or_404(request.account.alert_routes, pk=pk))
    return redirect("integrations:alertroute-list", account=request.account.slug)


@managers_only
def delivery_list(request: HttpRequest, account: str) -> HttpResponse:
    """The delivery log: time, event, destination, status code, duration, body excerpt; resend."""
    deliveries = (request.account.deliveries.select_related("endpoint", "slack")
                  .order_by("-created_at", "-pk")[:200])
    return render(request, "integrations/deliveries.html", {"deliveries": deliveries})


@managers_only
def delivery_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    delivery = get_object_or_404(request.account.deliveries.select_related("endpoint", "slack"), pk=pk)
    return render(request, "integrations/delivery_detail.html", {
        "delivery": delivery, "attempts": delivery.attempt_log.order_by("number")})


@require_POST
@managers_only
def delivery_resend(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    delivery = get_object_or_404(request.account.deliveries, pk=pk)
    if delivery.status == Delivery.Status.SENDING:
        messages.error(request, _("This delivery is being sent right now."))
    else:
        services.resend_delivery(delivery=delivery)
        messages.success(request, _("Delivery queued again."))
    return redirect("integrations:delivery-list", account=request.account.slug)
