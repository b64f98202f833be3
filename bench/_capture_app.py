"""The WSGI app bench/capture.py serves with gunicorn: the real project plus two baseline views.

The application is production's (config/wsgi.py): the respondent's JSON submit runs on its own middleware
stack (responses/handler.py), everything else, the baselines too, on Django's full stack.

Baselines, served by the same gunicorn, middleware and database as the real pages:
- ``/bench/minimal``: a minimal Django view (no database).
- ``/bench/insert``: a bare view that does one ORM INSERT per POST (the floor of a durable write).
The respondent rate limits stay in the path (their Redis calls count) but with limits no single
loopback address reaches.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from accounts.events import Event  # noqa: E402
from accounts.scoping import cross_account  # noqa: E402
from config.urls import urlpatterns as project_urlpatterns  # noqa: E402
from responses import ratelimit  # noqa: E402

ratelimit.ADDRESS_REQUESTS_PER_MINUTE = 10**9  # every bench client shares 127.0.0.1
BENCH_ACCOUNT_ID = int(os.environ.get("BENCH_ACCOUNT_ID", "0"))


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csrf_exempt
def one_insert(request: HttpRequest) -> HttpResponse:
    with cross_account():  # the baseline writes one row, nothing else
        Event.objects.create(account_id=BENCH_ACCOUNT_ID, kind="bench.insert", payload={})
    return HttpResponse("ok", status=201)


urlpatterns = [
    path("bench/minimal", minimal),
    path("bench/insert", one_insert),
    *project_urlpatterns,
]
settings.ROOT_URLCONF = __name__

from config.wsgi import application  # noqa: E402, F401  (production's: the respondent's JSON submit on its own stack)
