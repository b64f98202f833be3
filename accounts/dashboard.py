"""Panels on the account home, contributed by apps above ``accounts`` (which never imports them).

An app registers a callable in its AppConfig.ready(); each takes the request (with ``request.account``)
and returns rendered HTML, or "" when it has nothing to show.
"""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

DASHBOARD_PANELS: list[Callable[[HttpRequest], SafeString | str]] = []


def register_panel(panel: Callable[[HttpRequest], SafeString | str]) -> None:
    if panel not in DASHBOARD_PANELS:
        DASHBOARD_PANELS.append(panel)
