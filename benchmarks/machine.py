"""Describe the machine a benchmark ran on: CPU, cores, memory, OS and versions."""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.settings import POSTGRES_URL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    os: str
    python: str
    sqlite: str
    sqlite_cli: str
    postgres: str

    def line(self) -> str:
        """Return the one-line description printed under every table."""
        return (
            f"{self.cpu}, {self.cores} cores, {self.memory_gib:.1f} GiB RAM, "
            f"{self.os}, Python {self.python}, SQLite {self.sqlite} "
            f"(CLI {self.sqlite_cli}), PostgreSQL {self.postgres}"
        )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _os_name() -> str:
    release = Path("/etc/os-release")
    if release.is_file():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
                return f"{name} (Linux {platform.release()})"
    return platform.platform()


def _sqlite_cli() -> str:
    try:
        output = subprocess.run(
            ["sqlite3", "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except FileNotFoundError:
        return "not installed"
    return output.split()[0] if output else "unknown"


def _postgres_version() -> str:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]
    except psycopg.OperationalError as exc:
        log.warning("PostgreSQL is not reachable at %s: %s", POSTGRES_URL, exc)
        return "not reachable"


def describe_machine() -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gib=_memory_gib(),
        os=_os_name(),
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        sqlite_cli=_sqlite_cli(),
        postgres=_postgres_version(),
    )
