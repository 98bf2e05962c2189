"""Run the refresh section and turn its results into tables and targets."""

from __future__ import annotations

import logging

from benchmarks.databases import DatabasePool
from benchmarks.duck import DuckResult, run_duckdb
from benchmarks.refresh import RefreshResult, run_kind
from benchmarks.report import Table, Target, targets_table
from benchmarks.stats import percentile

log = logging.getLogger(__name__)

REFRESH_GOAL_MS = 50.0
GROWTH_GOAL = 2.0
RESPONSE_GOAL_KB = 150.0


def _ms(value: float) -> str:
    return f"{value * 1000:,.1f}"


def query_table(results: list[RefreshResult]) -> Table:
    table = Table(
        "Refresh queries: summary + heatmap + filter_options",
        [
            "database",
            "sales",
            "filter",
            "uncached p50 (ms)",
            "uncached p95 (ms)",
            "cached p50 (ms)",
            "cached p95 (ms)",
            "repetitions",
        ],
    )
    for result in results:
        table.rows.append(
            [
                result.database,
                f"{result.sales:,}",
                result.case,
                _ms(result.query(50)),
                _ms(result.query(95)),
                _ms(result.query(50, cached=True)),
                _ms(result.query(95, cached=True)),
                str(len(result.uncached.queries)),
            ]
        )
    table.notes.append(
        "Each repetition opens a fresh app context, as a request does, and calls "
        "the three functions that one filter change runs. Uncached empties the "
        "app's result cache before each repetition, as for a filter that nobody "
        "chose since the last load. Cached repeats the same filter with the "
        "in-process cache filled."
    )
    return table


def dash_table(results: list[RefreshResult]) -> Table:
    table = Table(
        "Refresh callback through Dash: POST /_dash-update-component",
        [
            "database",
            "sales",
            "filter",
            "uncached p50 (ms)",
            "uncached p95 (ms)",
            "cached p95 (ms)",
            "refresh response (KB)",
            "model options response (KB)",
        ],
    )
    for result in results:
        table.rows.append(
            [
                result.database,
                f"{result.sales:,}",
                result.case,
                _ms(result.http(50)),
                _ms(result.http(95)),
                _ms(result.http(95, cached=True)),
                f"{result.refresh_bytes / 1000:,.1f}",
                f"{result.options_bytes / 1000:,.1f}" if result.options_bytes else "—",
            ]
        )
    table.notes.append(
        "Measured in-process with a signed-in Flask test client: sign-in check, "
        "queries, the four Plotly figures and the JSON encoding, no network. A "
        "company change also runs the model-options callback, whose response "
        "the last column shows. KB are 1,000 bytes, uncompressed."
    )
    return table


def duck_table(results: list[DuckResult] | str) -> Table:
    table = Table(
        "DuckDB on the raw sales rows, for comparison",
        ["sales", "filter", "p50 (ms)", "p95 (ms)"],
    )
    if isinstance(results, str):
        table.notes.append(f"Not measured: {results}.")
        return table
    for result in results:
        table.rows.append(
            [
                f"{result.sales:,}",
                result.case,
                _ms(percentile(result.samples, 50)),
                _ms(percentile(result.samples, 95)),
            ]
        )
    if results:
        table.notes.append(
            "Four GROUP BY queries over every sale, in DuckDB's own storage "
            "(copied from the SQLite database in "
            f"{results[0].copy_seconds:.1f} s), instead of the rollups."
        )
    return table


def refresh_targets(results: list[RefreshResult]) -> list[Target]:
    """Judge the largest size against the goal and against the smallest size."""
    if not results:
        return []
    largest = max(r.sales for r in results)
    smallest = min(r.sales for r in results)
    by_key = {(r.database, r.sales, r.case): r for r in results}
    targets = []
    for result in results:
        if result.sales != largest:
            continue
        label = f"{result.database}, {result.case}"
        targets.append(
            Target(
                f"uncached query p95, {largest:,} sales, {label}",
                REFRESH_GOAL_MS,
                higher_is_better=False,
                measured=result.query(95) * 1000,
                unit=" ms",
            )
        )
        base = by_key.get((result.database, smallest, result.case))
        if base is not None and smallest != largest:
            targets.append(
                Target(
                    f"uncached query p95 at {largest:,} ÷ at {smallest:,} sales, "
                    f"{label}",
                    GROWTH_GOAL,
                    higher_is_better=False,
                    measured=result.query(95) / base.query(95),
                    unit="×",
                )
            )
    biggest = max(r.refresh_bytes + r.options_bytes for r in results)
    targets.append(
        Target(
            "largest response per filter change",
            RESPONSE_GOAL_KB,
            higher_is_better=False,
            measured=biggest / 1000,
            unit=" KB",
        )
    )
    return targets


def run_section(
    rows: int, factor: int, reps: int, kinds: list[str], pool: DatabasePool
) -> tuple[list[Table], list[str]]:
    """Measure every database kind, then DuckDB, and return tables and errors."""
    results: list[RefreshResult] = []
    errors = []
    for kind in kinds:
        try:
            results += run_kind(kind, rows, factor, reps, pool)
        except Exception as exc:  # noqa: BLE001 - report it and go on
            log.exception("refresh on %s failed", kind)
            errors.append(f"refresh on {kind} failed: {exc}")

    source = pool.get("sqlite", rows) or pool.get("postgres", rows)
    duck: list[DuckResult] | str = "no database with the sales was loaded"
    if source is not None:
        duck = run_duckdb(source, rows, factor, reps)

    tables = [query_table(results), dash_table(results), duck_table(duck)]
    tables.append(targets_table(refresh_targets(results)))
    return tables, errors
