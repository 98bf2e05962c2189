"""Load: signed-in clients changing analytics filters against gunicorn.

gunicorn serves ``wsgi:app`` on 127.0.0.1 with 4 workers of 4 threads over a
database the worker path loaded. Each client thread signs in through the login
form (with its CSRF token), then POSTs the analytics refresh callback with
random filters, back to back, until the time is up. Clients run in this process
on the same two cores as the server, so the numbers include their cost.
"""

from __future__ import annotations

import logging
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.dash_requests import (
    DEPENDENCIES_PATH,
    REFRESH_OUTPUT,
    UPDATE_PATH,
    Filters,
    find_callback,
    random_filters,
    update_body,
)
from benchmarks.databases import Database, app_environment
from benchmarks.report import Table, Target, targets_table
from benchmarks.settings import BENCH_PASSWORD, BENCH_USER, ROOT, runs_dir
from benchmarks.stats import percentile

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
WORKERS = 4
THREADS = 4
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
# Every client stops after this many requests even if time remains.
MAX_REQUESTS_PER_CLIENT = 100_000
P95_GOAL_MS = 250.0
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class ClientLog:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    filters: set[Filters] = field(default_factory=set)


@dataclass
class LoadResult:
    database: str
    sales: int
    clients: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    distinct_filters: int

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _server_env(database: Database) -> dict[str, str]:
    return {
        **app_environment(database.url),
        # All clients sign in from 127.0.0.1 within a second, far above the
        # default limit of 10 sign-ins a minute per address.
        "FORECOURT_LOGIN_RATE_LIMIT": "1000 per minute",
    }


def _wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{tail}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or workers still importing the app
        time.sleep(0.5)
    raise RuntimeError(
        f"gunicorn did not respond on /healthz within {START_TIMEOUT:.0f} s; "
        f"see {log_path}"
    )


@contextmanager
def gunicorn(database: Database) -> Iterator[str]:
    """Run gunicorn on ``database``, yield its base URL, then stop it."""
    port = _free_port()
    runs_dir().mkdir(parents=True, exist_ok=True)
    log_path = runs_dir() / f"gunicorn-{database.name}.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-w",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "-b",
        f"{HOST}:{port}",
        "wsgi:app",
    ]
    base_url = f"http://{HOST}:{port}"
    with open(log_path, "wb") as server_log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_server_env(database),
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(base_url, process, log_path)
        log.info("gunicorn %s is up on %s", process.pid, base_url)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        log.info("gunicorn %s stopped", process.pid)


def sign_in(base_url: str) -> requests.Session:
    """Return a session signed in through the login form, CSRF token included."""
    session = requests.Session()
    page = session.get(f"{base_url}/login", timeout=REQUEST_TIMEOUT)
    match = CSRF_FIELD.search(page.text)
    data = {"username": BENCH_USER, "password": BENCH_PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    response = session.post(
        f"{base_url}/login", data=data, timeout=REQUEST_TIMEOUT, allow_redirects=False
    )
    if response.status_code not in (302, 303):
        raise RuntimeError(
            f"sign-in as {BENCH_USER} returned {response.status_code}, not a redirect"
        )
    return session


@dataclass
class _Window:
    """The end of the measured window, set once every client is ready."""

    start: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0


def _run_client(
    base_url: str,
    session: requests.Session,
    callback: dict,
    seed: int,
    window: _Window,
    record: ClientLog,
) -> None:
    rng = random.Random(seed)
    url = f"{base_url}{UPDATE_PATH}"
    window.start.wait()
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= window.deadline:
            return
        filters, changed = random_filters(rng)
        record.filters.add(filters)
        body = update_body(callback, filters, changed)
        started = time.perf_counter()
        try:
            response = session.post(url, json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            record.errors.append(exc.__class__.__name__)
            continue
        elapsed = time.perf_counter() - started
        if response.status_code == 200:
            record.latencies.append(elapsed)
        else:
            record.errors.append(f"HTTP {response.status_code}")


def _warm_up(base_url: str, sessions: list[requests.Session], callback: dict) -> None:
    """Send one refresh per client so each gunicorn worker has set up Dash."""
    rng = random.Random(0)
    for session in sessions:
        filters, changed = random_filters(rng)
        session.post(
            f"{base_url}{UPDATE_PATH}",
            json=update_body(callback, filters, changed),
            timeout=REQUEST_TIMEOUT,
        )


def run_load(
    database: Database, sales: int, clients: int, seconds: float
) -> LoadResult:
    """Run ``clients`` clients for ``seconds`` against gunicorn on ``database``."""
    with gunicorn(database) as base_url:
        sessions = [sign_in(base_url) for _ in range(clients)]
        dependencies = (
            sessions[0]
            .get(f"{base_url}{DEPENDENCIES_PATH}", timeout=REQUEST_TIMEOUT)
            .json()
        )
        callback = find_callback(dependencies, REFRESH_OUTPUT)
        _warm_up(base_url, sessions, callback)

        window = _Window()
        records = [ClientLog() for _ in sessions]
        threads = [
            threading.Thread(
                target=_run_client,
                args=(base_url, session, callback, number, window, record),
                daemon=True,
            )
            for number, (session, record) in enumerate(
                zip(sessions, records, strict=True)
            )
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        window.deadline = started + seconds
        window.start.set()
        for thread in threads:
            thread.join(timeout=seconds + REQUEST_TIMEOUT + 5)
        elapsed = time.monotonic() - started
        for session in sessions:
            session.close()

    latencies = [value for record in records for value in record.latencies]
    errors = [error for record in records for error in record.errors]
    distinct = len(set().union(*(record.filters for record in records)))
    log.info(
        "load on %s: %d requests, %d errors in %.1f s",
        database.label,
        len(latencies),
        len(errors),
        elapsed,
    )
    return LoadResult(
        database.label, sales, clients, elapsed, latencies, errors, distinct
    )


def _ms(values: list[float], share: float) -> str:
    return "—" if not values else f"{percentile(values, share) * 1000:,.0f}"


def load_table(results: list[LoadResult]) -> Table:
    clients = results[0].clients if results else 0
    table = Table(
        f"Load: {clients} signed-in clients, gunicorn -w {WORKERS} --threads {THREADS}",
        [
            "database",
            "sales",
            "seconds",
            "requests",
            "requests/s",
            "p50 (ms)",
            "p95 (ms)",
            "p99 (ms)",
            "errors",
            "distinct filter sets",
        ],
    )
    for result in results:
        table.rows.append(
            [
                result.database,
                f"{result.sales:,}",
                f"{result.seconds:.0f}",
                f"{len(result.latencies):,}",
                f"{result.requests_per_second:,.1f}",
                _ms(result.latencies, 50),
                _ms(result.latencies, 95),
                _ms(result.latencies, 99),
                str(len(result.errors)),
                f"{result.distinct_filters:,}",
            ]
        )
        if result.errors:
            kinds = Counter(result.errors).most_common(3)
            listed = ", ".join(f"{name} × {count}" for name, count in kinds)
            table.notes.append(f"{result.database} errors: {listed}.")
    table.notes.append(
        "Each request is one refresh callback with random filters (0-2 years, "
        "0-3 of 12 companies, sometimes 1-3 months). Latency is measured by the "
        "client over HTTP on 127.0.0.1. The app's result cache is on and in-process "
        "(no FORECOURT_CACHE_URL), so a filter set repeated on the same gunicorn "
        "worker is served from it."
    )
    return table


def load_targets(results: list[LoadResult]) -> list[Target]:
    targets = []
    for result in results:
        p95 = percentile(result.latencies, 95) * 1000 if result.latencies else None
        targets.append(
            Target(
                f"load p95, {result.database}",
                P95_GOAL_MS,
                higher_is_better=False,
                measured=p95,
                unit=" ms",
            )
        )
        targets.append(
            Target(
                f"load errors, {result.database}",
                0,
                higher_is_better=False,
                measured=float(len(result.errors)),
            )
        )
    return targets


def run_section(
    databases: list[tuple[Database, int]], clients: int, seconds: float
) -> tuple[list[Table], list[str]]:
    """Run the load on each (database, sales) pair and return tables and errors."""
    results = []
    errors = []
    for database, sales in databases:
        try:
            results.append(run_load(database, sales, clients, seconds))
        except Exception as exc:  # noqa: BLE001 - report it and go on
            log.exception("load on %s failed", database.label)
            errors.append(f"load on {database.label} failed: {exc}")
    tables = [load_table(results), targets_table(load_targets(results))]
    return tables, errors
