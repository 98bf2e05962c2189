"""A requests transport adapter that connects only to an address checked in advance.

The guarded client resolves a host name itself, checks every address, and stores
the chosen one on the prepared request as ``pinned_address``. The adapter opens the
TCP connection to that address, never resolving the name again, so a DNS answer
that changes between the check and the connection (DNS rebinding) cannot redirect
it. The host name is still sent in the Host header and used for TLS (SNI and
certificate checks). After connecting, the peer address is compared once more.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from sources.errors import DestinationNotAllowed


def same_address(first: str, second: str) -> bool:
    """True when two IP address strings name the same address."""
    return ipaddress.ip_address(first.split("%")[0]) == ipaddress.ip_address(
        second.split("%")[0]
    )


class _PinnedConnectionMixin:
    """Open the socket to ``pinned_address`` instead of resolving ``host``."""

    pinned_address: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            sock = urllib3_connection.create_connection(
                (self.pinned_address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.pinned_address} timed out."
            ) from exc
        except OSError as exc:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {exc}"
            ) from exc
        peer = sock.getpeername()[0]
        if not same_address(peer, self.pinned_address):
            sock.close()
            raise DestinationNotAllowed(
                f"destination not allowed: connected to {peer}, not the checked "
                f"address {self.pinned_address}"
            )
        return sock


class PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


# NOTE: no test covers HTTPS here, because the tests run no local TLS server.
# urllib3 takes the SNI name and the certificate host from ``host``, which stays
# the URL's host name while the socket goes to ``pinned_address``.
class PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """Send each request over a pool bound to the request's ``pinned_address``.

    A request without ``pinned_address`` is refused, so nothing reaches the
    network without the destination check. Proxies are never used.
    """

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.pools: dict[tuple, HTTPConnectionPool] = {}

    def get_connection_with_tls_context(
        self,
        request: PreparedRequest,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        address = getattr(request, "pinned_address", None)
        if address is None:
            raise DestinationNotAllowed(
                f"destination not allowed: {request.url} was not checked"
            )
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(
            request, verify, cert
        )
        scheme = host_params["scheme"]
        host = host_params["host"]
        port = host_params["port"] or (443 if scheme == "https" else 80)
        if scheme != "https":
            pool_kwargs = {}
        key = (scheme, host, port, address, tuple(sorted(pool_kwargs.items())))
        pool = self.pools.get(key)
        if pool is None:
            pool_class = PinnedHTTPSPool if scheme == "https" else PinnedHTTPPool
            pool = pool_class(
                host, port, maxsize=1, pinned_address=address, **pool_kwargs
            )
            self.pools[key] = pool
        return pool

    def close(self) -> None:
        super().close()
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
