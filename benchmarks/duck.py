"""DuckDB for comparison: the refresh's four aggregates over the raw sales.

The sales of a database the worker path loaded are copied into DuckDB's own
storage once. DuckDB's SQLite and PostgreSQL scanners are extensions that it
downloads at run time, and this benchmark makes no downloads. Then ``factor``
copies of the sales make the larger table, as ``benchmarks.derive`` does in SQL.
The four queries are the ones the refresh callback runs on the rollups:
totals by source, by month, by company, and by month again for the heatmap.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import create_engine, select

from benchmarks.databases import Database
from benchmarks.refresh import CASES, WARMUP, Case
from benchmarks.settings import BENCH_USER
from benchmarks.stats import percentile

log = logging.getLogger(__name__)

GROUPS = ("source_kind", "month_key", "company", "month_key")


@dataclass
class DuckResult:
    sales: int
    case: str
    samples: list[float]
    copy_seconds: float


def _where(case: Case) -> tuple[str, list]:
    conditions = ["owner_id = ?"]
    parameters: list = []
    years = case.filters.year
    if years:
        ranges = " OR ".join("month_key BETWEEN ? AND ?" for _ in years)
        conditions.append(f"({ranges})")
        for year in years:
            parameters += [year * 100 + 1, year * 100 + 12]
    if case.filters.company:
        marks = ", ".join("?" for _ in case.filters.company)
        conditions.append(f"company IN ({marks})")
        parameters += list(case.filters.company)
    return " AND ".join(conditions), parameters


def _read_sales(source: Database) -> tuple[pd.DataFrame, int]:
    """Read the columns the aggregates need, with prices as floats."""
    from models import Sale, User

    sales = Sale.__table__.c
    columns = [sales.owner_id, sales.month_key, sales.company, sales.source_kind]
    engine = create_engine(source.url)
    with engine.connect() as conn:
        owner_id = conn.execute(
            select(User.id).where(User.username_key == BENCH_USER)
        ).scalar_one()
        result = conn.execute(select(*columns, sales.price.label("price")))
        frame = pd.DataFrame(result.all(), columns=[*result.keys()])
    engine.dispose()
    frame["price"] = frame["price"].astype(float)
    return frame, owner_id


def _time_case(connection, table: str, owner_id: int, case: Case, reps: int):
    where, parameters = _where(case)
    statements = [
        f"SELECT {group}, count(*), sum(price) FROM {table} "
        f"WHERE {where} GROUP BY {group}"
        for group in GROUPS
    ]
    samples = []
    for repetition in range(WARMUP + reps):
        started = time.perf_counter()
        for statement in statements:
            connection.execute(statement, [owner_id, *parameters]).fetchall()
        if repetition >= WARMUP:
            samples.append(time.perf_counter() - started)
    return samples


def run_duckdb(
    source: Database, rows: int, factor: int, reps: int
) -> list[DuckResult] | str:
    """Time the four aggregates on ``rows`` and ``rows * factor`` sales, or
    return why DuckDB could not run."""
    try:
        import duckdb
    except ImportError:
        return "duckdb is not installed; pip install duckdb to add this comparison"

    started = time.perf_counter()
    frame, owner_id = _read_sales(source)
    connection = duckdb.connect()
    connection.register("frame", frame)
    connection.execute("CREATE TABLE sales_small AS SELECT * FROM frame")
    connection.unregister("frame")
    del frame
    connection.execute(
        f"CREATE TABLE sales_large AS SELECT s.* FROM sales_small s, range({factor})"
    )
    copy_seconds = time.perf_counter() - started
    log.info("copied sales into DuckDB %s in %.1f s", duckdb.__version__, copy_seconds)

    results = []
    for table, sales in (("sales_small", rows), ("sales_large", rows * factor)):
        for case in CASES:
            samples = _time_case(connection, table, owner_id, case, reps)
            results.append(DuckResult(sales, case.name, samples, copy_seconds))
            log.info(
                "DuckDB %s sales %s: p95 %.1f ms",
                f"{sales:,}",
                case.name,
                percentile(samples, 95) * 1000,
            )
    connection.close()
    return results
