"""Refresh: what one filter change on the analytics page costs the server.

One change runs the refresh callback, which calls ``analytics.summary`` and
``analytics.heatmap``, and a company change also runs the model-options
callback, which calls ``analytics.filter_options``. The query timing calls those
three functions in a fresh app context per repetition, as a request would. The
Dash timing POSTs the refresh callback through a signed-in Flask test client,
so it adds sign-in checks, figure building and JSON encoding, and its response
body is what the browser receives. Both run once with the app's result cache
emptied before every repetition and once with it filled.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import text

from benchmarks import ingest
from benchmarks.dash_requests import (
    DEPENDENCIES_PATH,
    MODEL_OPTIONS_OUTPUT,
    REFRESH_OUTPUT,
    UPDATE_PATH,
    Filters,
    find_callback,
    update_body,
)
from benchmarks.databases import (
    Database,
    DatabasePool,
    app_on,
    ensure_owner,
    new_database,
)
from benchmarks.derive import derive_database
from benchmarks.settings import (
    BENCH_PASSWORD,
    BENCH_USER,
    TYPICAL_COMPANIES,
    TYPICAL_YEAR,
)
from benchmarks.stats import percentile

log = logging.getLogger(__name__)

WARMUP = 3


@dataclass(frozen=True)
class Case:
    name: str
    filters: Filters
    changed: str | None  # the dropdown the user changed, as Dash reports it


CASES = (
    Case("unfiltered", Filters(), None),
    Case(
        f"{TYPICAL_YEAR}, {len(TYPICAL_COMPANIES)} companies",
        Filters(year=(TYPICAL_YEAR,), company=TYPICAL_COMPANIES),
        "company",
    ),
)


@dataclass
class Timings:
    """Samples of one case in one cache mode, in seconds."""

    queries: list[float]
    dash: list[float]
    refresh_bytes: int
    options_bytes: int  # model-options response, 0 when companies did not change


@dataclass
class RefreshResult:
    """One case on one database, with the result cache emptied and filled."""

    database: str
    sales: int
    case: str
    uncached: Timings
    cached: Timings

    @property
    def refresh_bytes(self) -> int:
        return self.uncached.refresh_bytes

    @property
    def options_bytes(self) -> int:
        return self.uncached.options_bytes

    def query(self, share: float, cached: bool = False) -> float:
        timings = self.cached if cached else self.uncached
        return percentile(timings.queries, share)

    def http(self, share: float, cached: bool = False) -> float:
        timings = self.cached if cached else self.uncached
        return percentile(timings.dash, share)


def loaded_database(kind: str, rows: int, pool: DatabasePool) -> Database:
    """Return a database with ``rows`` sales loaded through the worker path,
    reusing one from the pool when an earlier section left it there."""
    database = pool.get(kind, rows)
    if database is not None:
        return database
    database = new_database(kind, "refresh")
    try:
        run = ingest.worker_path(database, "csv", rows)
    except Exception:
        database.drop()
        raise
    if run.error:
        database.drop()
        raise RuntimeError(f"loading {rows:,} rows failed: {run.error}")
    pool.keep(database, rows)
    return database


def _analyze(database: Database) -> None:
    """Refresh PostgreSQL's planner statistics, as autovacuum would by now."""
    if database.kind != "postgres":
        return
    from sqlalchemy import create_engine

    engine = create_engine(database.url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _clear_result_cache(app: Flask) -> None:
    """Empty the app's result cache, so the next refresh computes everything."""
    from dashboard.cache import cache

    with app.app_context():
        cache.clear()


def _time_queries(
    app: Flask, owner_id: int, case: Case, reps: int, cold: bool
) -> list[float]:
    """Time the three analytics functions; ``cold`` empties the cache first."""
    from dashboard import analytics

    query = analytics.SalesQuery(
        owner_id=owner_id,
        years=case.filters.year,
        companies=case.filters.company,
    )
    samples = []
    for repetition in range(WARMUP + reps):
        if cold:
            _clear_result_cache(app)
        started = time.perf_counter()
        with app.app_context():
            analytics.summary(query)
            analytics.heatmap(query)
            analytics.filter_options(owner_id, case.filters.company)
        elapsed = time.perf_counter() - started
        if repetition >= WARMUP:
            samples.append(elapsed)
    return samples


def _post(client, body: dict) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.post(UPDATE_PATH, json=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(
            f"{UPDATE_PATH} returned {response.status_code}: "
            f"{response.get_data(as_text=True)[:300]}"
        )
    return elapsed, len(response.get_data())


def _time_dash(app: Flask, client, body: dict, reps: int, cold: bool) -> list[float]:
    """Time the refresh callback POST; ``cold`` empties the cache first."""
    samples = []
    for repetition in range(WARMUP + reps):
        if cold:
            _clear_result_cache(app)
        elapsed, _ = _post(client, body)
        if repetition >= WARMUP:
            samples.append(elapsed)
    return samples


def _signed_in_client(app: Flask):
    client = app.test_client()
    response = client.post(
        "/login", data={"username": BENCH_USER, "password": BENCH_PASSWORD}
    )
    if response.status_code not in (302, 303):
        raise RuntimeError(f"sign-in as {BENCH_USER} failed ({response.status_code})")
    return client


def _measure_case(
    app: Flask, client, callbacks: tuple[dict, dict], case: Case, reps: int
) -> list[Timings]:
    """Time one case cold and warm and return (uncached, cached) timings."""
    refresh, model_options = callbacks
    owner_id = ensure_owner(app)
    body = update_body(refresh, case.filters, case.changed)
    _, refresh_bytes = _post(client, body)
    options_bytes = 0
    if case.changed == "company":
        options_body = update_body(model_options, case.filters, "company")
        _, options_bytes = _post(client, options_body)

    timings = []
    for cold in (True, False):
        queries = _time_queries(app, owner_id, case, reps, cold)
        dash = _time_dash(app, client, body, reps, cold)
        timings.append(Timings(queries, dash, refresh_bytes, options_bytes))
    return timings


def measure(database: Database, sales: int, reps: int) -> list[RefreshResult]:
    """Time both cases on ``database``, which contains ``sales`` sales.

    Uncached empties the app's result cache before each repetition, as for a
    filter that nobody chose since the last load. Cached repeats the same filter
    with the cache filled by the warm-up.
    """
    results = []
    with app_on(database) as app:
        client = _signed_in_client(app)
        dependencies = client.get(DEPENDENCIES_PATH).get_json()
        callbacks = (
            find_callback(dependencies, REFRESH_OUTPUT),
            find_callback(dependencies, MODEL_OPTIONS_OUTPUT),
        )
        for case in CASES:
            cold, warm = _measure_case(app, client, callbacks, case, reps)
            result = RefreshResult(database.label, sales, case.name, cold, warm)
            results.append(result)
            log.info(
                "refresh %s %s sales %s: uncached queries p95 %.1f ms, "
                "Dash p95 %.1f ms",
                database.label,
                f"{sales:,}",
                case.name,
                result.query(95) * 1000,
                result.http(95) * 1000,
            )
    return results


def run_kind(
    kind: str, rows: int, factor: int, reps: int, pool: DatabasePool
) -> list[RefreshResult]:
    """Measure the refresh on ``rows`` and on ``rows * factor`` sales."""
    small = loaded_database(kind, rows, pool)
    _analyze(small)
    large = pool.get(kind, rows * factor)
    if large is None:
        large = derive_database(small, factor)
        pool.keep(large, rows * factor)
    return measure(small, rows, reps) + measure(large, rows * factor, reps)
