"""Ingest: the worker path against sqlite3 .import, COPY and pandas to_sql.

The worker path is the production code: a ``FetchTask`` row for a stored file,
run by ``workers.ingest.run_fetch`` in a child process, so the peak memory is
that of the fetch alone. The baselines load the same CSV file into a plain table
with no keys, indexes or rollups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import create_engine, text

from benchmarks.databases import (
    LABELS,
    Database,
    DatabasePool,
    add_fetch_task,
    app_environment,
    app_on,
    ensure_owner,
    new_database,
    temporary_database,
)
from benchmarks.datasets import data_file
from benchmarks.processes import ChildFailed, run_measured, run_python_child
from benchmarks.report import Table, Target, format_rate, targets_table

log = logging.getLogger(__name__)

PLAIN_TABLE = "sales_plain"
PLAIN_DDL = {
    "sqlite": (
        f"CREATE TABLE {PLAIN_TABLE} (id TEXT, company TEXT, car_model TEXT, "
        "sale_date TEXT, price NUMERIC)"
    ),
    "postgres": (
        f"CREATE TABLE {PLAIN_TABLE} (id text, company text, car_model text, "
        "sale_date timestamp, price numeric(14, 2))"
    ),
}
# A child gets this many seconds per row, and at least MIN_TIMEOUT, before it
# is stopped. 2,000 rows/s is below every rate seen on two cores, where the
# slowest, JSON into PostgreSQL, loaded about 5,000 rows/s.
SECONDS_PER_ROW = 1 / 2000
MIN_TIMEOUT = 120.0
# The worker's peak memory goal at the big run's size, in MB.
BIG_MEMORY_GOAL_MB = 300.0


@dataclass
class IngestRun:
    """One load of ``rows`` rows by one method into one database."""

    method: str
    database: str
    data_format: str
    rows: int
    seconds: float | None = None
    peak_mb: float | None = None
    ready_mb: float | None = None  # worker only: RSS once the app is built
    error: str | None = None

    @property
    def rate(self) -> float | None:
        if self.seconds is None or self.error:
            return None
        return self.rows / self.seconds


def child_timeout(rows: int) -> float:
    return max(MIN_TIMEOUT, rows * SECONDS_PER_ROW)


def source_for(data_format: str, file_name: str) -> dict:
    if data_format == "csv":
        return {"kind": "csv", "path": file_name}
    json_format = "ndjson" if data_format == "ndjson" else "array"
    return {"kind": "json", "path": file_name, "format": json_format}


def count_rows(database: Database, table: str) -> int:
    engine = create_engine(database.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())
    finally:
        engine.dispose()


def _check_count(database: Database, table: str, rows: int) -> str | None:
    found = count_rows(database, table)
    if found != rows:
        return f"expected {rows:,} rows in {table}, found {found:,}"
    return None


def worker_path(database: Database, data_format: str, rows: int) -> IngestRun:
    """Load ``rows`` rows of ``data_format`` through ``run_fetch`` into
    ``database``, which must be empty."""
    run = IngestRun("worker path", database.label, data_format, rows)
    path = data_file(rows, data_format)
    with app_on(database) as app:
        owner_id = ensure_owner(app)
        task_id = add_fetch_task(app, owner_id, source_for(data_format, path.name))

    log.info(
        "worker path: %s rows of %s into %s", f"{rows:,}", data_format, database.name
    )
    try:
        measured = run_python_child(
            ["worker", str(task_id)],
            child_timeout(rows),
            app_environment(database.url),
        )
    except ChildFailed as exc:
        run.error = str(exc)
        return run
    result = measured.result
    run.seconds = result["seconds"]
    run.peak_mb = measured.peak_mb
    run.ready_mb = result["ready_mb"]
    if result["status"] != "completed":
        run.error = f"task {result['status']}: {result['error']}"
    elif result["rows_loaded"] != rows:
        run.error = (
            f"loaded {result['rows_loaded']:,} of {rows:,} rows "
            f"({result['rows_rejected']:,} rejected, "
            f"{result['rows_duplicate']:,} duplicate)"
        )
    return run


def sqlite_import(rows: int) -> IngestRun:
    """Load the CSV file with the sqlite3 shell's ``.import --csv``."""
    run = IngestRun("sqlite3 .import", "SQLite", "csv", rows)
    path = data_file(rows, "csv")
    with temporary_database("sqlite", "import") as database:
        engine = create_engine(database.url)
        with engine.begin() as conn:
            conn.execute(text(PLAIN_DDL["sqlite"]))
        engine.dispose()
        command = f'.import --csv --skip 1 "{path}" {PLAIN_TABLE}'
        try:
            measured = run_measured(
                ["sqlite3", str(database.path), command], child_timeout(rows)
            )
        except (ChildFailed, FileNotFoundError) as exc:
            run.error = f"sqlite3 shell failed: {exc}"
            return run
        run.seconds = measured.seconds
        run.peak_mb = measured.peak_mb
        run.error = _check_count(database, PLAIN_TABLE, rows)
    return run


def _python_baseline(method: str, job: str, kind: str, rows: int) -> IngestRun:
    run = IngestRun(method, LABELS[kind], "csv", rows)
    path = data_file(rows, "csv")
    with temporary_database(kind, job) as database:
        if job == "copy":
            engine = create_engine(database.url)
            with engine.begin() as conn:
                conn.execute(text(PLAIN_DDL[kind]))
            engine.dispose()
        try:
            measured = run_python_child(
                [job, database.url, str(path), PLAIN_TABLE], child_timeout(rows)
            )
        except ChildFailed as exc:
            run.error = str(exc)
            return run
        run.seconds = measured.result["seconds"]
        run.peak_mb = measured.peak_mb
        run.error = _check_count(database, PLAIN_TABLE, rows)
    return run


def postgres_copy(rows: int) -> IngestRun:
    """Stream the CSV file into PostgreSQL with ``COPY ... FROM STDIN``."""
    return _python_baseline("COPY FROM STDIN", "copy", "postgres", rows)


def pandas_to_sql(kind: str, rows: int) -> IngestRun:
    """Load the CSV file with ``pandas.read_csv`` and ``DataFrame.to_sql``."""
    return _python_baseline("pandas to_sql", "pandas", kind, rows)


def run_worker_paths(
    rows: int, kinds: list[str], formats: list[str], pool: DatabasePool
) -> list[IngestRun]:
    """Load every format into every database kind, and keep the CSV databases."""
    runs = []
    for kind in kinds:
        for data_format in formats:
            database = new_database(kind, f"ingest_{data_format}")
            run = None
            try:
                run = _guarded(
                    partial(worker_path, database, data_format, rows),
                    IngestRun("worker path", database.label, data_format, rows),
                )
            finally:
                # Kept for the refresh and load sections, or dropped, also when
                # the run is interrupted.
                if run is not None and data_format == "csv" and run.error is None:
                    pool.keep(database, rows)
                else:
                    database.drop()
            runs.append(run)
    return runs


def _guarded(measure: Callable[[], IngestRun], failed: IngestRun) -> IngestRun:
    """Run ``measure`` and return its run. On an error, return ``failed`` with
    the error set, so one broken method does not stop the others."""
    try:
        return measure()
    except Exception as exc:  # noqa: BLE001 - reported in the table
        log.exception("%s on %s failed", failed.method, failed.database)
        failed.error = f"{exc.__class__.__name__}: {exc}"
        return failed


def run_baselines(rows: int, kinds: list[str]) -> list[IngestRun]:
    runs = []
    if "sqlite" in kinds:
        failed = IngestRun("sqlite3 .import", "SQLite", "csv", rows)
        runs.append(_guarded(partial(sqlite_import, rows), failed))
    if "postgres" in kinds:
        failed = IngestRun("COPY FROM STDIN", "PostgreSQL", "csv", rows)
        runs.append(_guarded(partial(postgres_copy, rows), failed))
    for kind in kinds:
        failed = IngestRun("pandas to_sql", LABELS[kind], "csv", rows)
        runs.append(_guarded(partial(pandas_to_sql, kind, rows), failed))
    return runs


def _big_run(rows: int) -> IngestRun:
    with temporary_database("sqlite", "big") as database:
        return worker_path(database, "csv", rows)


def run_big(rows: int) -> IngestRun:
    """Load the big CSV file through the worker path into SQLite, for memory."""
    failed = IngestRun("worker path", "SQLite", "csv", rows)
    return _guarded(partial(_big_run, rows), failed)


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _seconds(run: IngestRun) -> str:
    return "—" if run.seconds is None else f"{run.seconds:,.1f}"


def _outcome(run: IngestRun) -> str:
    return "ok" if run.error is None else f"failed: {one_line(run.error)}"


def one_line(message: str, limit: int = 160) -> str:
    """Squeeze an error into one table cell: one line, no pipes, bounded."""
    flat = " ".join(message.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _worker_csv_rate(runs: list[IngestRun], database: str) -> float | None:
    for run in runs:
        if run.database == database and run.data_format == "csv":
            return run.rate
    return None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def worker_table(runs: list[IngestRun], rows: int) -> Table:
    table = Table(
        f"Worker path, {rows:,} rows per format",
        [
            "database",
            "format",
            "time (s)",
            "rows/s",
            "peak RSS (MB)",
            "RSS before the fetch (MB)",
            "outcome",
        ],
    )
    for run in runs:
        table.rows.append(
            [
                run.database,
                run.data_format,
                _seconds(run),
                format_rate(run.rate),
                _mb(run.peak_mb),
                _mb(run.ready_mb),
                _outcome(run),
            ]
        )
    table.notes.append(
        "Time is `run_fetch` alone, measured inside the child process; the RSS "
        "before the fetch is the interpreter with the app imported and built."
    )
    return table


def baseline_table(
    baselines: list[IngestRun], workers: list[IngestRun], rows: int
) -> Table:
    table = Table(
        f"Baselines on the same {rows:,}-row CSV file",
        [
            "method",
            "database",
            "time (s)",
            "rows/s",
            "peak RSS (MB)",
            "worker CSV ÷ method",
            "outcome",
        ],
    )
    for run in baselines:
        ratio = _ratio(_worker_csv_rate(workers, run.database), run.rate)
        table.rows.append(
            [
                run.method,
                run.database,
                _seconds(run),
                format_rate(run.rate),
                _mb(run.peak_mb),
                "—" if ratio is None else f"{ratio:.2f}×",
                _outcome(run),
            ]
        )
    table.notes.append(
        "A ratio above 1 means the worker path loads faster than the method. The "
        "baselines write a plain table with no keys, indexes, duplicate check or "
        "rollups, which the worker path maintains."
    )
    return table


def big_table(run: IngestRun) -> Table:
    table = Table(
        f"Worker path peak memory, {run.rows:,}-row CSV into SQLite",
        ["time (s)", "rows/s", "peak RSS (MB)", "RSS before the fetch (MB)", "outcome"],
    )
    table.rows.append(
        [
            _seconds(run),
            format_rate(run.rate),
            _mb(run.peak_mb),
            _mb(run.ready_mb),
            _outcome(run),
        ]
    )
    return table


def _baseline_rate(runs: list[IngestRun], method: str, database: str) -> float | None:
    for run in runs:
        if run.method == method and run.database == database:
            return run.rate
    return None


def ingest_targets(
    workers: list[IngestRun], baselines: list[IngestRun], big: IngestRun | None
) -> list[Target]:
    sqlite_rate = _worker_csv_rate(workers, "SQLite")
    postgres_rate = _worker_csv_rate(workers, "PostgreSQL")
    comparisons = [
        ("sqlite3 .import", "SQLite", sqlite_rate, 0.5),
        ("COPY FROM STDIN", "PostgreSQL", postgres_rate, 0.5),
        ("pandas to_sql", "SQLite", sqlite_rate, 3.0),
        ("pandas to_sql", "PostgreSQL", postgres_rate, 3.0),
    ]
    targets = [
        Target(
            f"worker CSV rows/s ÷ {method} ({database})",
            limit,
            higher_is_better=True,
            measured=_ratio(worker_rate, _baseline_rate(baselines, method, database)),
            unit="×",
        )
        for method, database, worker_rate, limit in comparisons
    ]
    big_peak = big.peak_mb if big is not None and big.error is None else None
    big_rows = f"{big.rows:,}" if big is not None else "10,000,000"
    targets.append(
        Target(
            f"worker peak RSS, {big_rows}-row CSV (SQLite)",
            BIG_MEMORY_GOAL_MB,
            higher_is_better=False,
            measured=big_peak,
            unit=" MB",
        )
    )
    return targets


def run_section(
    rows: int,
    kinds: list[str],
    formats: list[str],
    pool: DatabasePool,
    big_rows: int | None,
) -> list[Table]:
    """Run the worker path, the baselines and, when ``big_rows`` is set, the
    big memory run, and return their tables."""
    workers = run_worker_paths(rows, kinds, formats, pool)
    baselines = run_baselines(rows, kinds)
    big = run_big(big_rows) if big_rows else None

    tables = [worker_table(workers, rows), baseline_table(baselines, workers, rows)]
    if big is not None:
        tables.append(big_table(big))
    tables.append(targets_table(ingest_targets(workers, baselines, big)))
    return tables
