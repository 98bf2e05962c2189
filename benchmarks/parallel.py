"""Parallel load: one large CSV file loaded whole or in parts by Celery workers.

Every case runs real ``celery -A workers worker --pool=solo`` processes on a
Redis broker at 127.0.0.1, with ``FORECOURT_PARALLEL_PARTS`` set for the case and
``FORECOURT_PARALLEL_MIN_MB=1``, so that the benchmark file is split. Once every
worker replies to a ping, this process creates the fetch task through
``dashboard.tasks_service.create_task``, which commits the row and enqueues it,
and polls the row until its status is completed or failed. Each case loads into
a fresh database, and the Redis database is flushed before each case.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import redis
from celery import Celery
from flask import Flask
from kombu.utils.url import maybe_sanitize_url

from benchmarks.databases import (
    LABELS,
    Database,
    app_environment,
    app_on,
    ensure_owner,
    temporary_database,
)
from benchmarks.datasets import data_file
from benchmarks.ingest import one_line
from benchmarks.report import Table, format_rate
from benchmarks.settings import BENCH_REDIS_URL, PARALLEL_PARTS, ROOT, runs_dir

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# The smallest file the workers split, in MiB. FORECOURT_PARALLEL_MIN_MB takes
# whole MiB, at least 1.
MIN_SPLIT_MB = 1
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PING_TIMEOUT = 0.5
# Seconds between two reads of the task row while a case runs.
POLL_INTERVAL = 0.05
# A case gets this many seconds per row, and at least MIN_TIMEOUT, before it is
# abandoned. That is 1,000 rows/s, half the ingest section's floor, because a
# split load also writes the part files and passes messages through the broker.
SECONDS_PER_ROW = 1 / 1000
MIN_TIMEOUT = 120.0
# Lines of a worker log shown when the worker fails.
LOG_TAIL_LINES = 15
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Case:
    """A load layout: the number of parts (1 is the whole file) and of workers."""

    parts: int
    workers: int

    @property
    def label(self) -> str:
        layout = "whole file" if self.parts == 1 else f"{self.parts} parts"
        noun = "worker" if self.workers == 1 else "workers"
        return f"{layout}, {self.workers} {noun}"


CASES = (
    Case(parts=1, workers=1),
    Case(parts=PARALLEL_PARTS, workers=1),
    Case(parts=PARALLEL_PARTS, workers=2),
)

# The results a split load must share with the whole-file load, and their labels.
COMPARED = (
    ("rows_loaded", "rows loaded"),
    ("rows_duplicate", "duplicate"),
    ("rows_rejected", "rejected"),
    ("sales_rows", "sales rows"),
    ("price_sum", "sum of price"),
    ("rollup_sales", "rollup sales"),
    ("rollup_revenue", "rollup revenue"),
)


@dataclass
class ParallelRun:
    """One case on one database kind: its time and what it stored."""

    case: Case
    kind: str
    rows: int
    seconds: float | None = None
    parts_total: int | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_duplicate: int | None = None
    rows_rejected: int | None = None
    sales_rows: int | None = None
    price_sum: Decimal | None = None
    rollup_sales: int | None = None
    rollup_revenue: Decimal | None = None
    # CPU seconds each worker process spent between task creation and completion.
    worker_cpu: list[float] | None = None
    error: str | None = None

    @property
    def database(self) -> str:
        return LABELS[self.kind]

    @property
    def rate(self) -> float | None:
        if self.seconds is None or self.error:
            return None
        return self.rows / self.seconds


class WorkerFailed(RuntimeError):
    """A benchmark worker exited, did not get ready, or a case ran too long."""


def case_timeout(rows: int) -> float:
    return max(MIN_TIMEOUT, rows * SECONDS_PER_ROW)


def check_redis(url: str) -> str | None:
    """Return why ``url`` cannot be the benchmark broker, or None when it can."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in LOCAL_HOSTS:
        return (
            f"the broker URL {maybe_sanitize_url(url)!r} is not a redis:// URL on "
            "127.0.0.1; set FORECOURT_BENCH_REDIS_URL to one such as "
            "redis://127.0.0.1:6379/14"
        )
    try:
        redis.Redis.from_url(url, socket_timeout=5).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {maybe_sanitize_url(url)} ({exc})"
    return None


def flush_broker(url: str) -> None:
    """Empty the broker's Redis database, so no message of an earlier case stays."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def worker_environment(
    database: Database, broker_url: str, parts: int, upload_dir: Path
) -> dict[str, str]:
    return {
        **app_environment(database.url),
        "FORECOURT_BROKER_URL": broker_url,
        "FORECOURT_UPLOAD_DIR": str(upload_dir),
        "FORECOURT_PARALLEL_PARTS": str(parts),
        "FORECOURT_PARALLEL_MIN_MB": str(MIN_SPLIT_MB),
    }


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of process ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name in brackets may contain spaces, so the fields are counted
    # after it. utime and stime are the 12th and 13th of them.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _log_tail(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


@dataclass
class Worker:
    hostname: str
    process: subprocess.Popen
    log_path: Path

    def check_running(self) -> None:
        """Raise ``WorkerFailed`` with the log tail when the process has exited."""
        if self.process.poll() is not None:
            raise WorkerFailed(
                f"worker {self.hostname} exited with {self.process.returncode}:\n"
                f"{_log_tail(self.log_path)}"
            )


def _stop(worker: Worker) -> None:
    """Stop ``worker`` with a warm shutdown, or kill it after STOP_TIMEOUT."""
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("worker %s ignored SIGTERM; killing it", worker.hostname)
            worker.process.kill()
            worker.process.wait(timeout=STOP_TIMEOUT)
    log.info("worker %s stopped", worker.hostname)


@contextmanager
def celery_worker(env: dict[str, str], name: str) -> Iterator[Worker]:
    """Start one solo-pool worker process, yield it, and stop it afterwards."""
    hostname = f"{name}@bench"
    log_path = runs_dir() / f"worker-{name}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--pool=solo",
        "--loglevel=WARNING",
        f"--hostname={hostname}",
    ]
    with open(log_path, "wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    worker = Worker(hostname, process, log_path)
    log.info("worker %s started as process %s", hostname, process.pid)
    try:
        yield worker
    finally:
        _stop(worker)


def wait_ready(celery: Celery, workers: list[Worker]) -> None:
    """Wait until every worker replies to a ping, which it does once it consumes.

    The workers log at WARNING, so their "ready" line, an INFO record, is not
    there to wait for. The ping goes to every worker on the broker, so a worker
    this run did not start, which would take some of the messages, is found.
    """
    ours = {worker.hostname for worker in workers}
    waiting = dict.fromkeys(ours)
    deadline = time.monotonic() + READY_TIMEOUT
    while waiting:
        for worker in workers:
            worker.check_running()
        if time.monotonic() >= deadline:
            raise WorkerFailed(
                f"workers {', '.join(waiting)} did not reply to a ping within "
                f"{READY_TIMEOUT:.0f} s; their logs are in {runs_dir()}"
            )
        for reply in celery.control.ping(timeout=PING_TIMEOUT):
            for hostname in reply:
                _check_ours(hostname, ours, celery)
                waiting.pop(hostname, None)


def _check_ours(hostname: str, ours: set[str], celery: Celery) -> None:
    if hostname not in ours:
        broker = maybe_sanitize_url(celery.conf.broker_url)
        raise WorkerFailed(
            f"worker {hostname} consumes from the broker {broker}, but this run "
            "did not start it, and it would take some of the messages; stop it, or set "
            "FORECOURT_BENCH_REDIS_URL to an unused Redis database"
        )


@contextmanager
def running_workers(
    app: Flask, env: dict[str, str], count: int, tag: str
) -> Iterator[list[Worker]]:
    """Start ``count`` workers, wait until all are ready, and stop them all after."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(celery_worker(env, f"{tag}-{number}"))
            for number in range(1, count + 1)
        ]
        wait_ready(app.extensions["celery"], workers)
        yield workers


def _read_status(task_id: int) -> tuple[str, str | None]:
    from models import FetchTask, db

    row = db.session.execute(
        db.select(FetchTask.status, FetchTask.error).where(FetchTask.id == task_id)
    ).one()
    # Ending the transaction lets the next read see the workers' commits, also
    # on SQLite, where a read transaction keeps its snapshot.
    db.session.rollback()
    return row.status, row.error


def wait_finished(
    task_id: int, workers: list[Worker], timeout: float
) -> tuple[str, str | None]:
    """Poll the task row until it is completed or failed, and return its status
    and error."""
    deadline = time.monotonic() + timeout
    while True:
        status, error = _read_status(task_id)
        if status in ("completed", "failed"):
            return status, error
        for worker in workers:
            worker.check_running()
        if time.monotonic() >= deadline:
            raise WorkerFailed(
                f"fetch task {task_id} was still {status} after {timeout:.0f} s; "
                f"the worker logs are in {runs_dir()}"
            )
        time.sleep(POLL_INTERVAL)


def create_fetch_task(owner_id: int, file_name: str) -> int:
    """Create the fetch task for ``file_name`` as the web side does, which
    commits the row and then sends it to the broker."""
    from dashboard.tasks_service import create_task
    from models import User, db

    user = db.session.get(User, owner_id)
    source = {"kind": "csv", "path": file_name}
    task = create_task(user, f"benchmark parallel {file_name}", source, {})
    return task.id


def record_results(run: ParallelRun, task_id: int) -> None:
    """Copy the task's counters and the stored totals into ``run``."""
    from models import FetchTask, MonthlyRollup, Sale, db

    task = db.session.get(FetchTask, task_id)
    run.parts_total = task.parts_total
    run.rows_read = task.rows_read
    run.rows_loaded = task.rows_loaded
    run.rows_duplicate = task.rows_duplicate
    run.rows_rejected = task.rows_rejected
    sales = db.session.execute(db.select(db.func.count(), db.func.sum(Sale.price)))
    run.sales_rows, run.price_sum = sales.one()
    rollups = db.select(
        db.func.sum(MonthlyRollup.sales_count), db.func.sum(MonthlyRollup.revenue)
    )
    run.rollup_sales, run.rollup_revenue = db.session.execute(rollups).one()
    if run.rollup_sales is not None:
        run.rollup_sales = int(run.rollup_sales)
    db.session.rollback()


def run_error(run: ParallelRun, status: str, task_error: str | None) -> str | None:
    """Say what is wrong with a finished case, or return None when it is sound."""
    if status != "completed":
        return f"task {status}: {task_error}"
    expected_parts = run.case.parts if run.case.parts > 1 else 0
    if run.parts_total != expected_parts:
        return (
            f"the task ran in {run.parts_total} parts, not {expected_parts}. A file "
            f"smaller than {MIN_SPLIT_MB} MiB is loaded whole"
        )
    if run.rows_read != run.rows:
        return f"read {run.rows_read:,} of {run.rows:,} rows"
    return None


def _measure(
    run: ParallelRun, app: Flask, workers: list[Worker], file_name: str
) -> None:
    with app.app_context():
        owner_id = ensure_owner(app)
        cpu_before = [cpu_seconds(worker.process.pid) for worker in workers]
        started = time.perf_counter()
        task_id = create_fetch_task(owner_id, file_name)
        status, task_error = wait_finished(task_id, workers, case_timeout(run.rows))
        run.seconds = time.perf_counter() - started
        cpu_after = [cpu_seconds(worker.process.pid) for worker in workers]
        run.worker_cpu = [
            after - before for before, after in zip(cpu_before, cpu_after, strict=True)
        ]
        record_results(run, task_id)
    run.error = run_error(run, status, task_error)


def run_case(kind: str, case: Case, rows: int, broker_url: str) -> ParallelRun:
    """Load the ``rows``-row CSV file into a fresh ``kind`` database as ``case``."""
    run = ParallelRun(case, kind, rows)
    path = data_file(rows, "csv")
    flush_broker(broker_url)
    tag = f"parallel-{uuid.uuid4().hex[:8]}"
    upload_dir = runs_dir() / f"uploads-{tag}"
    log.info("parallel: %s rows into %s, %s", f"{rows:,}", kind, case.label)
    try:
        with (
            temporary_database(kind, "parallel") as database,
            app_on(database, {"BROKER_URL": broker_url}) as app,
        ):
            env = worker_environment(database, broker_url, case.parts, upload_dir)
            try:
                with running_workers(app, env, case.workers, tag) as workers:
                    _measure(run, app, workers, path.name)
            finally:
                app.extensions["celery"].close()
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
    return run


def _guarded(kind: str, case: Case, rows: int, broker_url: str) -> ParallelRun:
    """Run one case. On an error, return the run with the error set."""
    try:
        return run_case(kind, case, rows, broker_url)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        log.exception("parallel case %s on %s failed", case.label, kind)
        failed = ParallelRun(case, kind, rows)
        failed.error = f"{exc.__class__.__name__}: {exc}"
        return failed


def comparison(run: ParallelRun, reference: ParallelRun | None) -> str:
    """Say whether ``run`` stored what the whole-file load ``reference`` stored."""
    if run is reference:
        return "reference"
    if reference is None or reference.error or run.error:
        return "not compared: a load failed"
    differences = [
        f"{label} {getattr(run, name)} ≠ {getattr(reference, name)}"
        for name, label in COMPARED
        if getattr(run, name) != getattr(reference, name)
    ]
    if differences:
        return "**no**: " + "; ".join(differences)
    return "yes"


def _reference(runs: list[ParallelRun], kind: str) -> ParallelRun | None:
    for run in runs:
        if run.kind == kind and run.case.parts == 1:
            return run
    return None


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _outcome(run: ParallelRun) -> str:
    return "ok" if run.error is None else f"failed: {one_line(run.error)}"


def _cpu(values: list[float] | None) -> str:
    if not values:
        return "—"
    return " + ".join(f"{value:,.1f}" for value in values)


def _speedup(run: ParallelRun, reference: ParallelRun | None) -> str:
    if reference is None or reference.rate is None or run.rate is None:
        return "—"
    return f"{run.rate / reference.rate:.2f}×"


def timing_table(runs: list[ParallelRun], rows: int, broker_url: str) -> Table:
    table = Table(
        f"One {rows:,}-row CSV file, whole and in parts",
        [
            "database",
            "case",
            "parts",
            "time (s)",
            "rows/s",
            "rows/s ÷ whole file",
            "worker CPU (s)",
            "outcome",
        ],
    )
    for run in runs:
        reference = _reference(runs, run.kind)
        table.rows.append(
            [
                run.database,
                run.case.label,
                "—" if run.parts_total is None else str(run.parts_total or 1),
                "—" if run.seconds is None else f"{run.seconds:,.1f}",
                format_rate(run.rate),
                _speedup(run, reference),
                _cpu(run.worker_cpu),
                _outcome(run),
            ]
        )
    broker = maybe_sanitize_url(broker_url)
    table.notes.append(
        "Time runs from the call to `create_task`, which commits the task row and "
        "sends it to the broker, to the first read of the row with status "
        f"completed. The row is read every {POLL_INTERVAL * 1000:.0f} ms. Each "
        "worker is one `celery -A workers worker --pool=solo` process, started "
        "and replying to a ping before the clock starts, with "
        f"`FORECOURT_PARALLEL_MIN_MB={MIN_SPLIT_MB}`. The broker is Redis at "
        f"{broker}, flushed before each case, and each case loads into a fresh "
        "database. Worker CPU is the user and system time of each worker process "
        "while the clock ran, which shows how the parts were shared."
    )
    return table


def check_table(runs: list[ParallelRun]) -> Table:
    table = Table(
        "Same result as the whole-file load",
        [
            "database",
            "case",
            *(label for _name, label in COMPARED),
            "same as whole file",
        ],
    )
    for run in runs:
        cells = [
            _money(value) if isinstance(value, Decimal) else _count(value)
            for value in (getattr(run, name) for name, _label in COMPARED)
        ]
        reference = _reference(runs, run.kind)
        table.rows.append(
            [run.database, run.case.label, *cells, comparison(run, reference)]
        )
    table.notes.append(
        "Rows loaded, duplicate and rejected are the task's counters; the sales "
        "rows, the sum of their prices and the monthly rollup totals are read "
        "from the database after the load."
    )
    return table


def run_cases(rows: int, kinds: list[str], broker_url: str) -> list[ParallelRun]:
    """Run every case on every database kind and log each check against the
    whole-file load."""
    runs = [_guarded(kind, case, rows, broker_url) for kind in kinds for case in CASES]
    for run in runs:
        log.info(
            "parallel check, %s, %s: %s",
            run.database,
            run.case.label,
            comparison(run, _reference(runs, run.kind)),
        )
    return runs


def run_section(
    rows: int, kinds: list[str], broker_url: str = BENCH_REDIS_URL
) -> tuple[list[Table], list[str]]:
    """Run every case on every database kind and return the tables and errors."""
    problem = check_redis(broker_url)
    if problem:
        log.error("parallel section skipped: %s", problem)
        return [], [problem]

    runs = run_cases(rows, kinds, broker_url)
    return [timing_table(runs, rows, broker_url), check_table(runs)], []
