"""Guarded HTTP access for source URLs.

Every request a source makes goes through ``GuardedClient``:

- only http and https URLs without credentials in them;
- the host is resolved with ``HttpSettings.resolver`` and every address is checked:
  loopback, private, link-local (cloud metadata), shared, unspecified, multicast
  and reserved addresses are refused unless ``allowed_networks`` contains them;
- the connection goes to the checked address (see ``sources.pinned``);
- redirects are followed by hand, at most ``MAX_REDIRECTS``, each hop checked again;
- every request has a timeout and a size limit, and timeouts, connection errors,
  5xx and 429 responses are retried with exponential backoff.
"""

from __future__ import annotations

import email.utils
import html
import ipaddress
import logging
import re
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict

from sources.errors import DestinationNotAllowed, SourceError, SpecError
from sources.pinned import PinnedAddressAdapter

log = logging.getLogger(__name__)

BLOCKED_NAMES = {"localhost", "metadata.google.internal", "metadata"}
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Response bodies are kept in memory up to this size, then in a temporary file.
SPOOL_MEMORY_BYTES = 8 << 20
USER_AGENT = "Forecourt/0.1 (car sales fetcher)"
SECRET_MASK = "********"
# Query parameter names whose values are masked in responses, messages and logs,
# such as api_key, access_token, client_secret, password, auth and signature.
_SECRET_PARAM = re.compile(r"key|token|secret|pass|auth|sig", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
SNIPPET_CHARS = 120
# Networks embedding an IPv4 address in an IPv6 one (NAT64 well-known prefix).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve_host(host: str) -> list[str]:
    """Return the IP addresses of ``host`` from the system resolver."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass
class HttpSettings:
    """Limits and policy for the requests of one fetch.

    ``timeout`` (seconds) applies to connecting and to each read; a whole response
    must arrive within ``response_timeout`` seconds. ``max_bytes`` caps each
    response body. ``retries`` is the number of retries after the first attempt,
    waiting ``backoff`` * 2 ** n seconds, or the server's Retry-After capped at
    ``max_retry_wait``. ``allowed_networks`` lists CIDR blocks or addresses that
    are allowed although private or loopback. ``resolver`` maps a host name to IP
    address strings.
    """

    timeout: float = 20.0
    max_bytes: int = 200 << 20
    max_pages: int = 1000
    retries: int = 3
    backoff: float = 0.5
    allowed_networks: list[str] = field(default_factory=list)
    resolver: Callable[[str], list[str]] = resolve_host
    user_agent: str = USER_AGENT
    max_retry_wait: float = 60.0
    response_timeout: float = 600.0


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP address that ``host`` spells, or None for a host name.

    Accepts the spellings that C resolvers accept for IPv4, such as ``2130706433``,
    ``0x7f000001`` and ``0177.0.0.1``, which all mean 127.0.0.1.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address, allowed_networks: list[str]) -> str | None:
    """Return why ``address`` is not allowed, or None when it is allowed.

    An IPv6 address that embeds an IPv4 one (mapped, 6to4, Teredo, NAT64) is
    judged by the IPv4 address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    for network in allowed_networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return None
        except ValueError:
            continue
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network(
        "100.64.0.0/10"
    ):
        return "shared address space"
    if address.is_private or address.is_reserved:
        return "private"
    return None


def validate_url(url: str, allowed_networks: list[str], field: str = "url") -> None:
    """Check the form of a source URL before a task is stored.

    Raise ``SpecError`` for a scheme other than http(s), a missing host, a user
    name or password in the URL, or a literal address or well-known name that is
    not allowed. Names are resolved again at fetch time, on every redirect.
    Messages show the URL without credentials and with secret values masked.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SpecError(
            field, "is not a valid URL; check the host name, brackets and port"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise SpecError(
            field,
            "must not contain a user name or password; put credentials in headers",
        )
    public_url = display_url(url)
    if parts.scheme not in ("http", "https"):
        raise SpecError(field, f"{public_url!r} must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise SpecError(field, f"{public_url!r} has no host name")
    address = literal_address(host)
    if address is None:
        if host.lower().rstrip(".") in BLOCKED_NAMES and not allowed_networks:
            raise SpecError(field, f"destination not allowed: {host} (internal name)")
        return
    problem = address_problem(address, allowed_networks)
    if problem:
        raise SpecError(field, f"destination not allowed: {address} ({problem})")


def check_destination(url: str, settings: HttpSettings) -> str:
    """Return the checked IP address to connect to for ``url``.

    Raise ``DestinationNotAllowed`` when the URL or any address its host resolves
    to is refused, and ``SourceError`` when the host cannot be resolved.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise DestinationNotAllowed(
            "destination not allowed: the URL is not valid (check its host name, "
            "brackets and port)"
        ) from None
    public_url = display_url(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationNotAllowed(
            f"destination not allowed: {public_url} is not an http or https URL"
        )
    if parts.username is not None or parts.password is not None:
        raise DestinationNotAllowed(
            f"destination not allowed: {public_url} has a user name or password in it. "
            "Put credentials in the request headers instead."
        )
    host = parts.hostname
    if not host:
        raise DestinationNotAllowed(
            f"destination not allowed: {public_url} has no host"
        )

    literal = literal_address(host)
    addresses = [literal] if literal is not None else _resolve(host, settings)
    for address in addresses:
        problem = address_problem(address, settings.allowed_networks)
        if problem:
            raise DestinationNotAllowed(
                f"destination not allowed: {address} ({problem})"
            )
    name = host.lower().rstrip(".")
    if literal is None and name in BLOCKED_NAMES and not settings.allowed_networks:
        raise DestinationNotAllowed(f"destination not allowed: {host} (internal name)")
    return str(addresses[0])


def _resolve(host: str, settings: HttpSettings) -> list[Any]:
    try:
        found = settings.resolver(host)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SourceError(
            f"Could not resolve the host name {host!r} ({reason}). Check the URL."
        ) from None
    addresses = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(str(text).split("%")[0]))
        except ValueError:
            continue
    if not addresses:
        raise SourceError(f"The host name {host!r} has no IP address. Check the URL.")
    return addresses


def is_secret_name(name: str) -> bool:
    """True when a query parameter called ``name`` likely carries a credential."""
    return _SECRET_PARAM.search(name) is not None


def display_url(url: str) -> str:
    """Return ``url`` for messages and logs: no credentials, secret values masked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port:
        netloc += f":{port}"
    query = [
        (name, SECRET_MASK if is_secret_name(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(
        (parts.scheme, netloc, parts.path, urlencode(query, safe="*:/"), "")
    )


def masked_url(url: str) -> str:
    """Return ``url`` as written when it contains no secret, else ``display_url(url)``.

    A secret is a user name or password, or a query parameter whose name looks
    like a credential (see ``is_secret_name``).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return display_url(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    has_credentials = "@" in parts.netloc
    if has_credentials or any(is_secret_name(name) for name, _ in pairs):
        return display_url(url)
    return url


def display_host(url: str) -> str:
    """Return the host and port of ``url``, as error messages name it."""
    return urlsplit(display_url(url)).netloc


def describe_content_type(content_type: str) -> str:
    """Return the media type of a Content-Type header, or 'no content type'."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type or "no content type"


def body_snippet(body: bytes) -> str:
    """Return a short readable summary of a response body for error messages.

    For HTML it is the page title (or its text without tags); an ellipsis marks
    text left out.
    """
    # Replacement characters are fine here because the text only goes into a message.
    text = body[:16384].decode("utf-8", errors="replace")
    text = _SCRIPT.sub(" ", text)
    title_match = _TITLE.search(text)
    plain = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    snippet = " ".join(html.unescape(title_match[1]).split()) if title_match else plain
    snippet = snippet or plain
    more = len(snippet) < len(plain) or len(body) > 16384
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rstrip()
        more = True
    return snippet + ("…" if more else "")


@dataclass
class HttpResponse:
    """A complete response: status, headers and the body in a temporary file."""

    url: str
    status: int
    headers: CaseInsensitiveDict
    body: IO[bytes]
    size: int
    links: dict[str, Any]

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def read(self) -> bytes:
        """Return the whole body."""
        self.body.seek(0)
        data = self.body.read()
        self.body.seek(0)
        return data

    def looks_like_html(self) -> bool:
        """True when the server sent an HTML page (type HTML, body starts with '<')."""
        if "html" not in describe_content_type(self.content_type):
            return False
        start = self.body.read(512)
        self.body.seek(0)
        return start.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> HttpResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Retryable(Exception):
    """A failure worth another attempt. ``message`` is raised if no attempt succeeds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class GuardedClient:
    """Fetch URLs within the limits of ``HttpSettings``. Not thread-safe."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.trust_env = False
        self.adapter = PinnedAddressAdapter()
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.session.headers["User-Agent"] = settings.user_agent
        self.session.headers["Accept"] = "application/json, */*;q=0.5"

    def close(self) -> None:
        self.session.close()

    def fetch(
        self,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        """GET ``url`` and return the complete 2xx response.

        ``headers`` are sent only to the origin of ``url``: a redirect to another
        origin drops them, so API keys do not leak. Raise ``SourceError`` with a
        message for the user when the request fails after all retries.
        """
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._follow_redirects(url, params, headers)
            except _Retryable as exc:
                if attempt == attempts:
                    tries = f"It failed {attempts} times. " if attempts > 1 else ""
                    raise SourceError(
                        f"{exc.message} {tries}Try again later."
                    ) from None
                delay = self.settings.backoff * 2 ** (attempt - 1)
                if exc.retry_after is not None:
                    delay = exc.retry_after
                delay = max(0.0, min(delay, self.settings.max_retry_wait))
                log.warning(
                    "retrying %s in %.2f s (attempt %d of %d failed): %s",
                    display_url(url),
                    delay,
                    attempt,
                    attempts,
                    exc.message,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _follow_redirects(
        self,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> HttpResponse:
        origin = _origin(url)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            address = check_destination(current, self.settings)
            same_origin = _origin(current) == origin
            response = self._send(
                current, address, params, headers if same_origin else None
            )
            if (
                response.status_code in REDIRECT_STATUSES
                and "Location" in response.headers
            ):
                location = urljoin(response.url, response.headers["Location"])
                log.info(
                    "%s redirects to %s", display_url(current), display_url(location)
                )
                response.close()
                current = location
                params = None
                continue
            return self._complete(current, response)
        raise SourceError(
            f"{display_url(url)} redirected more than {MAX_REDIRECTS} times. "
            "Use the final URL of the data."
        )

    def _send(
        self,
        url: str,
        address: str,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> requests.Response:
        request = requests.Request("GET", url, params=params, headers=headers)
        prepared = self.session.prepare_request(request)
        prepared.pinned_address = address  # type: ignore[attr-defined]
        host = display_host(url)
        try:
            return self.session.send(
                prepared,
                stream=True,
                timeout=self.settings.timeout,
                allow_redirects=False,
                proxies={},
                verify=True,
            )
        except requests.Timeout:
            raise _Retryable(
                f"The request to {host} timed out after {self.settings.timeout:g} s."
            ) from None
        except requests.exceptions.SSLError as exc:
            raise SourceError(
                f"The TLS connection to {host} failed ({_reason(exc)}). Check that "
                "the server has a valid certificate."
            ) from None
        except requests.ConnectionError as exc:
            raise _Retryable(f"Could not connect to {host} ({_reason(exc)}).") from None
        except requests.RequestException as exc:
            raise SourceError(
                f"The request to {display_url(url)} failed ({_reason(exc)})."
            ) from None

    def _complete(self, url: str, response: requests.Response) -> HttpResponse:
        try:
            body, size = self._read_body(url, response)
        finally:
            response.close()
        result = HttpResponse(
            url=response.url,
            status=response.status_code,
            headers=response.headers,
            body=body,
            size=size,
            links=response.links,
        )
        log.info("GET %s: HTTP %d, %d bytes", display_url(url), result.status, size)
        if 200 <= result.status < 300:
            return result
        try:
            raise_for_status(result, url)
        finally:
            result.close()
        return result

    def _read_body(
        self, url: str, response: requests.Response
    ) -> tuple[IO[bytes], int]:
        limit = self.settings.max_bytes
        host = display_host(url)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(host, limit)
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        size = 0
        deadline = time.monotonic() + self.settings.response_timeout
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > limit:
                    raise _too_large(host, limit)
                if time.monotonic() > deadline:
                    raise _Retryable(
                        f"The response from {host} took longer than "
                        f"{self.settings.response_timeout:g} s to arrive."
                    )
                body.write(chunk)
        except requests.RequestException as exc:
            body.close()
            raise _Retryable(
                f"The connection to {host} failed while reading the response "
                f"({_reason(exc)})."
            ) from None
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return body, size


def raise_for_status(response: HttpResponse, url: str) -> None:
    """Raise the error for a response that is not 2xx: retryable for 5xx and 429."""
    status = response.status
    kind = describe_content_type(response.content_type)
    summary = f"{kind}, {response.size} bytes"
    snippet = body_snippet(response.read())
    if status == 429 or status >= 500:
        raise _Retryable(
            f"HTTP {status} from {display_host(url)} ({summary}): {snippet}",
            _retry_after(response.headers.get("Retry-After")),
        )
    public_url = display_url(url)
    if status == 404:
        raise SourceError(f"HTTP 404 from {public_url}: not found; check the URL.")
    if status in (401, 403):
        raise SourceError(
            f"HTTP {status} from {public_url} ({summary}): {snippet} Check the API key "
            "or credentials in the request headers."
        )
    raise SourceError(
        f"HTTP {status} from {public_url} ({summary}): {snippet} Check the URL and "
        "query parameters."
    )


def _retry_after(value: str | None) -> float | None:
    """Return the wait a Retry-After header requests, in seconds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _too_large(host: str, limit: int) -> SourceError:
    return SourceError(
        f"The response from {host} is larger than the limit of {limit:,} bytes. "
        "Ask the API for smaller pages or raise the HTTP size limit."
    )


def same_origin(first: str, second: str) -> bool:
    """True when two URLs share scheme, host and port."""
    return _origin(first) == _origin(second)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _reason(exc: requests.RequestException) -> str:
    """Return the low-level cause of a requests error, without urllib3's prefixes."""
    cause = exc.args[0] if exc.args else exc
    text = str(getattr(cause, "reason", cause))
    errno_at = text.find("[Errno")
    if errno_at >= 0:
        return text[errno_at:].rstrip(")'\"")
    return text
