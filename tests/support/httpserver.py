"""A real HTTP server on 127.0.0.1 for tests, with a route table and a request log.

Routes map a path (without the query) to a reply or to a function of the request
that returns one. A reply is ``(status, headers, body)``; the body may be bytes,
text, or any JSON value. Unknown paths get a 404::

    def test_feed(http_server):
        http_server.routes["/sales"] = json_reply([{"company": "Kia"}])
        requests.get(http_server.url("/sales"))
        assert http_server.requests[0].query == {}
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

Reply = tuple[int, dict[str, str], Any]
Route = Reply | Callable[["Request"], Reply]


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The path with its query string, as sent."""
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.query.items())


def json_reply(data: Any, status: int = 200, headers: dict | None = None) -> Reply:
    """Return a reply with ``data`` as a JSON body."""
    return status, {"Content-Type": "application/json", **(headers or {})}, data


def text_reply(
    body: str | bytes, status: int = 200, content_type: str = "text/plain"
) -> Reply:
    """Return a reply with a text or bytes body of the given content type."""
    return status, {"Content-Type": content_type}, body


def redirect_reply(location: str, status: int = 302) -> Reply:
    """Return a redirect to ``location``."""
    return status, {"Location": location}, b""


def sequence(*replies: Reply) -> Callable[[Request], Reply]:
    """Return a route that sends ``replies`` in turn, then repeats the last one."""
    remaining = list(replies)

    def route(request: Request) -> Reply:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return route


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes the socket mid-reply.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class LocalHTTPServer:
    """A threaded ``http.server`` bound to 127.0.0.1 on a free port."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        """Return the absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LocalHTTPServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="test-http-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def paths(self) -> list[str]:
        """Return the path of each request received, in order."""
        with self._lock:
            return [request.path for request in self.requests]

    def _record(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get(request.path)
        if route is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return route(request) if callable(route) else route

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                status, headers, body = server._record(request)
                data = _encode(body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if (
                    "Content-Length" not in headers
                    and "Transfer-Encoding" not in headers
                ):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A running ``LocalHTTPServer``, stopped after the test."""
    with LocalHTTPServer() as server:
        yield server
