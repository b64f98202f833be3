"""Root URLs. Tenant pages live under /app/<account-slug>/ (AccountMiddleware resolves the account)."""
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("app/<slug:account>/surveys/", include("surveys.urls")),
    path("app/<slug:account>/responses/", include("responses.urls")),
    path("app/<slug:account>/reports/", include("reports.urls")),
    path("app/<slug:account>/integrations/", include("integrations.urls")),
    path("", include("responses.public_urls")),
    path("", include("surveys.public_urls")),
    path("", include("integrations.public_urls")),
    path("", include("integrations.delighted.urls")),
    path("api/", include("config.api_urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
