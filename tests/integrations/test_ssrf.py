"""SSRF: the outbound client refuses non-public addresses at connect time, after DNS resolution."""
from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from integrations import http


@pytest.fixture
def no_loopback(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "localhost", "[::1]",
                                  "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_loopback_in_any_spelling_is_refused_and_the_listener_sees_nothing(host, no_loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = http.post(f"http://{host}:{httpserver.port}/hook", b"{}", {})
    assert result.status_code is None
    assert result.error
    assert httpserver.log == []


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.10", "172.16.0.5", "169.254.169.254", "100.64.0.1",
                                  "[fd00::1]", "[fe80::1]", "[64:ff9b::7f00:1]"])
def test_private_link_local_cgnat_and_metadata_addresses_are_refused_before_connecting(host, no_loopback):
    result = http.post(f"http://{host}/latest/meta-data/", b"{}", {})
    assert result.status_code is None
    assert result.error.startswith("refused")


def test_a_hostname_resolving_to_a_private_address_is_refused_at_connect_time(no_loopback, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # the DNS of the internet is not reachable here: answer for one name
        if host == "rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    # the save-time check cannot know (a name, not an address); the connect-time check refuses
    assert http.validate_outbound_url("https://rebind.example.com/hook") == "https://rebind.example.com/hook"
    result = http.post("https://rebind.example.com/hook", b"{}", {})
    assert result.status_code is None
    assert result.error.startswith("refused")


def test_loopback_is_allowed_only_with_the_setting(httpserver, settings):
    httpserver.expect_request("/hook").respond_with_data("ok")
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    assert http.post(httpserver.url_for("/hook"), b"{}", {}).status_code == 200
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    assert http.post(httpserver.url_for("/hook"), b"{}", {}).status_code is None
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://10.0.0.1/hook", "https://169.254.169.254/",
                                 "https://[::1]/", "https://user:secret@example.com/", "ftp://example.com/",
                                 "https://example.com/" + "a" * 2100])
def test_bad_urls_are_refused_when_saved(url, no_loopback):
    with pytest.raises(ValidationError) as error:
        http.validate_outbound_url(url)
    assert "url" in error.value.message_dict


def test_the_response_body_read_is_capped(httpserver):
    httpserver.expect_request("/big").respond_with_data("x" * (5 * 1024 * 1024))
    result = http.post(httpserver.url_for("/big"), b"{}", {})
    assert result.status_code == 200
    assert len(result.body) == http.MAX_BODY_BYTES
