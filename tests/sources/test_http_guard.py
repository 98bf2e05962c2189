"""Guarded HTTP client: destination checks, redirects, pinning, limits, retries."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest
import requests

from sources import HttpSettings, SourceError
from sources.errors import DestinationNotAllowed, SpecError
from sources.http import (
    GuardedClient,
    address_problem,
    body_snippet,
    check_destination,
    display_url,
    validate_url,
)
from sources.pinned import PinnedAddressAdapter
from tests.support.httpserver import (
    LocalHTTPServer,
    json_reply,
    redirect_reply,
    sequence,
    text_reply,
)

from .helpers import CASES

PUBLIC = "93.184.216.34"
NAMES = {
    "api.example.com": [PUBLIC],
    "example.com": [PUBLIC],
    "metadata.google.internal": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example.test": ["127.0.0.1"],
    "public.example.test": [PUBLIC],
}


class StubResolver:
    """A resolver from a fixed table that counts its calls per name."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def ssrf_lines() -> list[tuple[str, str]]:
    lines = []
    for line in (CASES / "ssrf_urls.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        url, verdict = line.split("\t", 1)
        lines.append((url, verdict))
    return lines


SSRF = ssrf_lines()
REFUSED = [(url, verdict) for url, verdict in SSRF if verdict.startswith("refuse:")]
ALLOWED = [url for url, verdict in SSRF if verdict.startswith("allow (")]


@pytest.fixture
def make_client():
    """Build guarded clients from ``settings`` options and close them afterwards."""
    clients: list[GuardedClient] = []

    def make(**options) -> GuardedClient:
        client = GuardedClient(settings(**options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def settings(**options) -> HttpSettings:
    values = {"resolver": StubResolver(NAMES), "retries": 0, "backoff": 0.001}
    values.update(options)
    return HttpSettings(**values)


def test_ssrf_table_read():
    assert len(SSRF) == 21
    assert len(REFUSED) == 18
    assert ALLOWED == ["https://api.example.com/sales?page=1"]


@pytest.mark.parametrize(("url", "verdict"), REFUSED)
def test_ssrf_refused_at_fetch(url, verdict, connect_log, make_client):
    client = make_client()

    with pytest.raises(DestinationNotAllowed) as caught:
        client.fetch(url)

    assert str(caught.value).startswith("destination not allowed")
    assert connect_log.addresses == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 (link-local)"),
        ("http://metadata.google.internal/", "169.254.169.254 (link-local)"),
        ("http://127.0.0.1:5000/api/v1/sales", "127.0.0.1 (loopback)"),
        ("http://localhost/", "127.0.0.1 (loopback)"),
        ("http://2130706433/", "127.0.0.1 (loopback)"),
        ("http://0x7f000001/", "127.0.0.1 (loopback)"),
        ("http://0177.0.0.1/", "127.0.0.1 (loopback)"),
        ("http://[::1]/", "::1 (loopback)"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 (loopback)"),
        ("http://10.1.2.3/feed", "10.1.2.3 (private)"),
        ("http://172.16.5.4/feed", "172.16.5.4 (private)"),
        ("http://192.168.0.10/feed", "192.168.0.10 (private)"),
        ("http://100.64.0.7/", "100.64.0.7 (shared address space)"),
        ("http://0.0.0.0:8000/", "0.0.0.0 (unspecified)"),
        ("http://rebind.example.test/", "127.0.0.1 (loopback)"),
        ("file:///etc/hostname", "is not an http or https URL"),
        ("ftp://example.com/sales.json", "is not an http or https URL"),
        ("gopher://example.com/", "is not an http or https URL"),
        ("http://user:secret@example.com/", "has a user name or password in it"),
    ],
)
def test_destination_refusal_reason(url, message):
    with pytest.raises(DestinationNotAllowed) as caught:
        check_destination(url, settings())

    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


def test_public_destination_allowed():
    resolver = StubResolver(NAMES)

    address = check_destination(ALLOWED[0], settings(resolver=resolver))

    assert address == PUBLIC
    assert resolver.calls == ["api.example.com"]


def test_mixed_answer_refused():
    resolver = StubResolver({"mixed.example.test": [PUBLIC, "10.0.0.5"]})

    with pytest.raises(DestinationNotAllowed) as caught:
        check_destination("http://mixed.example.test/", settings(resolver=resolver))

    assert "destination not allowed: 10.0.0.5 (private)" in str(caught.value)


def test_unresolvable_host_fails():
    with pytest.raises(SourceError) as caught:
        check_destination("http://nowhere.example.test/", settings())

    assert "Could not resolve the host name 'nowhere.example.test'" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://metadata.google.internal/", True),
        ("http://127.0.0.1:5000/api/v1/sales", True),
        ("http://localhost/", True),
        ("http://2130706433/", True),
        ("http://0x7f000001/", True),
        ("http://0177.0.0.1/", True),
        ("http://[::1]/", True),
        ("http://[::ffff:127.0.0.1]/", True),
        ("http://10.1.2.3/feed", True),
        ("http://100.64.0.7/", True),
        ("http://0.0.0.0:8000/", True),
        ("file:///etc/hostname", True),
        ("ftp://example.com/sales.json", True),
        ("http://user:secret@example.com/", True),
        ("https://api.example.com/sales?page=1", False),
        ("http://rebind.example.test/", False),
        ("https://public.example.test/moved", False),
    ],
)
def test_validate_url_form(url, refused):
    if refused:
        with pytest.raises(SpecError) as caught:
            validate_url(url, [], field="source.url")
        assert caught.value.field == "source.url"
    else:
        validate_url(url, [], field="source.url")


def test_validate_url_allow_list():
    validate_url("http://127.0.0.1:5000/api/v1/sales", ["127.0.0.1/32"])


@pytest.mark.parametrize(
    ("address", "allowed", "problem"),
    [
        ("93.184.216.34", [], None),
        ("127.0.0.1", ["127.0.0.0/8"], None),
        ("127.0.0.1", ["not a network"], "loopback"),
        ("10.0.0.1", ["10.0.0.0/8"], None),
        ("fc00::1", [], "private"),
        ("fe80::1", [], "link-local"),
        ("ff02::1", [], "multicast"),
        ("224.0.0.1", [], "multicast"),
        ("240.0.0.1", [], "private"),
        ("::ffff:10.0.0.1", [], "private"),
        ("64:ff9b::a9fe:a9fe", [], "link-local"),
        ("2002:a9fe:a9fe::", [], "link-local"),
        ("2606:4700::1111", [], None),
    ],
)
def test_address_problem(address, allowed, problem):
    assert address_problem(ipaddress.ip_address(address), allowed) == problem


def test_redirect_to_metadata_refused(http_server, connect_log, make_client):
    http_server.routes["/moved"] = redirect_reply("http://169.254.169.254/")
    resolver = StubResolver({"public.example.test": ["127.0.0.1"]})
    client = make_client(resolver=resolver, allowed_networks=["127.0.0.1"])
    url = f"http://public.example.test:{http_server.port}/moved"

    with pytest.raises(DestinationNotAllowed) as caught:
        client.fetch(url)

    assert str(caught.value) == "destination not allowed: 169.254.169.254 (link-local)"
    assert http_server.paths() == ["/moved"]
    assert (
        http_server.requests[0].headers["Host"]
        == f"public.example.test:{http_server.port}"
    )
    assert connect_log.outside_loopback() == []
    assert connect_log.addresses


def test_redirect_to_metadata_name_refused(http_server, connect_log, make_client):
    http_server.routes["/moved"] = redirect_reply("http://metadata.google.internal/x")
    table = {"metadata.google.internal": ["169.254.169.254"]}
    client = make_client(resolver=StubResolver(table), allowed_networks=["127.0.0.1"])

    with pytest.raises(DestinationNotAllowed) as caught:
        client.fetch(http_server.url("/moved"))

    assert str(caught.value) == "destination not allowed: 169.254.169.254 (link-local)"
    assert connect_log.outside_loopback() == []


def test_redirect_followed_within_limit(http_server, make_client):
    http_server.routes["/a"] = redirect_reply("/b", status=301)
    http_server.routes["/b"] = redirect_reply(http_server.url("/c"), status=307)
    http_server.routes["/c"] = json_reply({"ok": True})
    client = make_client(allowed_networks=["127.0.0.1"])

    with client.fetch(http_server.url("/a")) as response:
        assert response.read() == b'{"ok": true}'
        assert response.url == http_server.url("/c")
    assert http_server.paths() == ["/a", "/b", "/c"]


def test_redirect_loop_stops(http_server, make_client):
    http_server.routes["/loop"] = redirect_reply("/loop")
    client = make_client(allowed_networks=["127.0.0.1"])

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/loop"))

    assert "redirected more than 5 times" in str(caught.value)
    assert len(http_server.requests) == 6


def test_headers_dropped_on_cross_origin_redirect(http_server, make_client):
    with LocalHTTPServer() as other:
        other.routes["/data"] = json_reply([])
        http_server.routes["/start"] = redirect_reply(other.url("/data"))
        client = make_client(allowed_networks=["127.0.0.1"])

        client.fetch(http_server.url("/start"), headers={"X-Api-Key": "k-123"}).close()

        assert http_server.requests[0].headers["X-Api-Key"] == "k-123"
        assert "X-Api-Key" not in other.requests[0].headers


def test_rebinding_cannot_change_address(
    http_server, connect_log, monkeypatch, make_client
):
    answers = [["127.0.0.1"], ["10.0.0.7"]]
    calls = []

    def rebinding_resolver(host: str) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), 2) - 1]

    def no_system_lookup(host, *args, **kwargs):
        raise AssertionError(f"the system resolver was asked for {host}")

    monkeypatch.setattr(socket, "getaddrinfo", _literal_only(no_system_lookup))
    http_server.routes["/feed"] = json_reply([{"a": 1}])
    client = make_client(resolver=rebinding_resolver, allowed_networks=["127.0.0.1"])

    with client.fetch(
        f"http://rebind.example.test:{http_server.port}/feed"
    ) as response:
        assert response.status == 200
    assert calls == ["rebind.example.test"]
    assert set(connect_log.addresses) == {"127.0.0.1"}
    assert http_server.requests[0].headers["Host"].startswith("rebind.example.test:")


def _literal_only(fallback):
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return fallback(host, *args, **kwargs)
        return original(host, *args, **kwargs)

    return getaddrinfo


def test_adapter_refuses_unchecked_request(http_server):
    with requests.Session() as session:
        session.mount("http://", PinnedAddressAdapter())
        with pytest.raises(DestinationNotAllowed):
            session.get(http_server.url("/"), timeout=5)

    assert http_server.requests == []


def test_body_over_limit_fails(http_server, make_client):
    http_server.routes["/big"] = text_reply(b"x" * 10_000)
    client = make_client(allowed_networks=["127.0.0.1"], max_bytes=1000)

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/big"))

    assert "larger than the limit of 1,000 bytes" in str(caught.value)


def test_chunked_body_over_limit_fails(http_server, make_client):
    data = b"y" * 5000
    chunked = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    http_server.routes["/chunked"] = (
        200,
        {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"},
        chunked,
    )
    client = make_client(allowed_networks=["127.0.0.1"], max_bytes=1000)

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/chunked"))

    assert "larger than the limit of 1,000 bytes" in str(caught.value)


def test_timeout_retried_then_fails(http_server, make_client):
    def slow(request):
        time.sleep(0.5)
        return json_reply([])

    http_server.routes["/slow"] = slow
    client = make_client(allowed_networks=["127.0.0.1"], timeout=0.1, retries=1)

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/slow"))

    assert "timed out after 0.1 s" in str(caught.value)
    assert "It failed 2 times" in str(caught.value)
    assert len(http_server.requests) == 2


def test_502_html_retried_then_message(http_server, make_client):
    body = (CASES / "api_502_body.html").read_bytes()
    http_server.routes["/sales"] = (502, {"Content-Type": "text/html"}, body)
    client = make_client(allowed_networks=["127.0.0.1"], retries=2)

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/sales"))

    message = str(caught.value)
    host = f"127.0.0.1:{http_server.port}"
    assert len(body) == 162
    assert message.startswith(
        f"HTTP 502 from {host} (text/html, 162 bytes): Upstream unavailable…"
    )
    assert "JSONDecodeError" not in message
    assert len(http_server.requests) == 3


def test_5xx_then_success(http_server, make_client):
    http_server.routes["/flaky"] = sequence(
        text_reply("down", status=503), json_reply({"ok": 1})
    )
    client = make_client(allowed_networks=["127.0.0.1"], retries=2)

    with client.fetch(http_server.url("/flaky")) as response:
        assert response.status == 200
    assert len(http_server.requests) == 2


def test_retry_after_honoured_and_capped(http_server, make_client):
    http_server.routes["/busy"] = sequence(
        (429, {"Retry-After": "30", "Content-Type": "text/plain"}, "slow down"),
        json_reply({"ok": 1}),
    )
    client = make_client(allowed_networks=["127.0.0.1"], retries=1, max_retry_wait=0.3)

    started = time.monotonic()
    with client.fetch(http_server.url("/busy")) as response:
        elapsed = time.monotonic() - started

    assert response.status == 200
    assert 0.3 <= elapsed < 5


def test_404_not_retried(http_server, make_client):
    client = make_client(allowed_networks=["127.0.0.1"], retries=3)
    url = http_server.url("/missing")

    with pytest.raises(SourceError) as caught:
        client.fetch(url)

    assert str(caught.value) == f"HTTP 404 from {url}: not found; check the URL."
    assert len(http_server.requests) == 1


def test_401_names_credentials(http_server, make_client):
    http_server.routes["/private"] = json_reply({"error": "bad key"}, status=401)
    client = make_client(allowed_networks=["127.0.0.1"])

    with pytest.raises(SourceError) as caught:
        client.fetch(http_server.url("/private"))

    assert '{"error": "bad key"}' in str(caught.value)
    assert "Check the API key" in str(caught.value)


def test_connection_refused_message(connect_log, make_client):
    client = make_client(allowed_networks=["127.0.0.1"], retries=1)

    with pytest.raises(SourceError) as caught:
        client.fetch("http://127.0.0.1:9/feed")

    assert "Could not connect to 127.0.0.1:9" in str(caught.value)
    assert connect_log.addresses == ["127.0.0.1", "127.0.0.1"]


def test_user_agent_and_params_sent(http_server, make_client):
    http_server.routes["/q"] = json_reply([])
    client = make_client(allowed_networks=["127.0.0.1"])

    client.fetch(http_server.url("/q?fixed=1"), params={"page": "2"}).close()

    request = http_server.requests[0]
    assert request.query == {"fixed": "1", "page": "2"}
    assert request.headers["User-Agent"].startswith("Forecourt/")


def test_display_url_masks_secrets():
    shown = display_url("https://u:p@api.example.com:8443/s?api_key=abc&page=2&token=t")

    assert (
        shown == "https://api.example.com:8443/s?api_key=********&page=2&token=********"
    )


def test_body_snippet_plain_text():
    assert body_snippet(b"  Service   down \n") == "Service down"
    assert body_snippet(b"x" * 500).endswith("…")
