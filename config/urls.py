"""Root URLs. Tenant pages live under /app/<account-slug>/ (AccountMiddleware resolves the account)."""
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for a path no URL pattern matches: the APIs' JSON error shape under /api/ and /v1/ (a
    client parsing errors never gets an HTML page), the friendly page elsewhere."""
    if request.path.startswith(("/api/", "/v1/")):
        return JsonResponse({"status": 404, "message": "Not Found"}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("responses.public_urls")),  # first: the respondent's pages are the hot path (r/, s/, w/)
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("app/<slug:account>/surveys/", include("surveys.urls")),
    path("app/<slug:account>/responses/", include("responses.urls")),
    path("app/<slug:account>/reports/", include("reports.urls")),
    path("app/<slug:account>/integrations/", include("integrations.urls")),
    path("", include("surveys.public_urls")),
    path("", include("integrations.public_urls")),
    path("", include("integrations.delighted.urls")),
    path("api/", include("config.api_urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
