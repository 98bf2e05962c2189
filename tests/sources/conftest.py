"""Fixtures for the source reader tests: the local HTTP server and socket guards."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from tests.support.httpserver import http_server  # noqa: F401 - a fixture


class ConnectLog:
    """Addresses that sockets tried to connect to during a test."""

    def __init__(self) -> None:
        self.addresses: list[str] = []

    def outside_loopback(self) -> list[str]:
        return [
            address
            for address in self.addresses
            if not ipaddress.ip_address(address.split("%")[0]).is_loopback
        ]


@pytest.fixture
def connect_log(monkeypatch) -> Iterator[ConnectLog]:
    """Record every socket connect, and block any that would leave 127.0.0.0/8.

    A blocked connect raises ``OSError``, so a refused address is never reached
    even if a guard fails. The test then finds the address in the log.
    """
    log = ConnectLog()
    original = socket.socket.connect

    def connect(sock: socket.socket, address) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return original(sock, address)
        host = address[0]
        log.addresses.append(host)
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise OSError(f"test guard: connect to {host} blocked")
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield log
