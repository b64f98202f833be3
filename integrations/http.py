"""The one outbound HTTP client (webhooks, Slack, Zapier): SSRF-safe, bounded, never redirected.

requests-hardened resolves the host on every connection, refuses loopback, private, link-local,
CGNAT, NAT64, multicast and metadata addresses, and connects to the IP it checked (F13, WH-11/12).
Loopback is allowed only with ``settings.OUTBOUND_ALLOW_LOOPBACK`` (tests, dev).
"""
from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress

USER_AGENT = "Verbatim-Webhooks/1.0"
CONNECT_TIMEOUT = 4
READ_TIMEOUT = 15
MAX_BODY_BYTES = 64 * 1024
MAX_URL_LENGTH = 2048


@dataclass
class Result:
    """What came back: a status code and a body excerpt, or an error (refused, timeout...)."""

    status_code: int | None
    body: str
    headers: dict[str, str]
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_local = threading.local()


def _session() -> requests.Session:
    """This thread's session: its connection pools are reused across deliveries (keep-alive).

    The SSRF guard is per request, not per session: the IP filter adapter resolves and checks the
    host on every request and keys its pools by the checked address, so a reused connection is
    always to an address that passed the check.
    """
    allow_loopback = bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))
    session = getattr(_local, "sessions", {}).get(allow_loopback)
    if session is None:
        session = Manager(Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=allow_loopback,
            never_redirect=True,
            default_timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            user_agent_override=USER_AGENT,
        )).get_session()
        session.trust_env = False  # proxy variables are ignored
        _local.sessions = {**getattr(_local, "sessions", {}), allow_loopback: session}
    return session


def post(url: str, body: bytes, headers: dict[str, str]) -> Result:
    """POST ``body`` to ``url``; never raises for network trouble, returns it as ``Result.error``."""
    started = time.monotonic()
    try:
        response = _session().post(url, data=body, headers={"Content-Type": "application/json", **headers},
                                   stream=True, allow_redirects=False)
        try:
            raw = response.raw.read(MAX_BODY_BYTES, decode_content=True) or b""
        finally:
            # urllib3 put the connection back in the pool if the whole answer was read; if not,
            # this drops it rather than reading the rest.
            response.close()
    except InvalidIPAddress as exc:
        return Result(None, "", {}, _ms(started), f"refused: non-public address {exc}")
    except requests.Timeout:
        return Result(None, "", {}, _ms(started), "timeout")
    except requests.RequestException as exc:
        return Result(None, "", {}, _ms(started), f"{type(exc).__name__}: {exc}"[:255])
    return Result(response.status_code, raw.decode("utf-8", "replace"), dict(response.headers), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def validate_outbound_url(url: str, *, field: str = "url") -> str:
    """Save-time checks of a user-supplied URL (WH-13); the connect-time check is the real guard."""
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError({field: _("The URL is too long (at most 2,048 characters).")})
    parts = urlsplit(url)
    allowed = ("https",) if not getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False) else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise ValidationError({field: _("Enter an https:// URL.")})
    if parts.username or parts.password:
        raise ValidationError({field: _("The URL must not contain a user name or password.")})
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    loopback_ok = getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False) and ip.is_loopback
    if not loopback_ok and (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                            or ip.is_reserved or ip.is_unspecified or ip in ipaddress.ip_network("100.64.0.0/10")):
        raise ValidationError({field: _("This address is not reachable from the internet.")})
    return url
