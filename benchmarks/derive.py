"""Derive a larger sales database from one the worker path loaded, in SQL.

Loading ten million rows through the worker takes long, and the refresh reads
only the rollups. So the larger database contains ``factor`` copies of every
sale of the smaller one, each copy with its own ids and record keys. Both rollups
are then rebuilt from the copied sales with one ``INSERT ... SELECT ... GROUP BY``
each. Every copy has the same months, companies and models, so the rollups have
as many groups as in the smaller database, with counts ``factor`` times larger.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection

from benchmarks.databases import Database, app_on, new_database

log = logging.getLogger(__name__)

# A record key is 32 hex characters. A copy keeps the first 30 and appends its
# two-digit copy number, which keeps (owner, key) unique.
KEY_PREFIX = 30
# Page cache of the connection that copies into a SQLite database, in KiB.
BULK_CACHE_KIB = 2_000_000


def _sale_columns() -> list[str]:
    from models import Sale

    return [column.name for column in Sale.__table__.columns if column.name != "id"]


def _copy_sales(conn: Connection, source: str, factor: int) -> None:
    columns = _sale_columns()
    span = conn.execute(text(f"SELECT max(id) FROM {source}.sales")).scalar() or 0
    for copy in range(factor):
        started = time.perf_counter()
        selected = [
            _copied_key(copy) if name == "record_key" else name for name in columns
        ]
        conn.execute(
            text(
                f"INSERT INTO sales (id, {', '.join(columns)}) "
                f"SELECT id + :offset, {', '.join(selected)} FROM {source}.sales "
                # Keys in order walk the unique index once per copy instead of
                # jumping to a random page for every row.
                "ORDER BY record_key"
            ),
            {"offset": copy * span},
        )
        log.info(
            "copied sales, copy %d of %d, in %.1f s",
            copy + 1,
            factor,
            time.perf_counter() - started,
        )


def _tune_sqlite_for_bulk_copy(dbapi_connection, _record) -> None:
    # The copy is a scratch database, dropped when anything fails, so it needs
    # no durability. A 2 GB page cache keeps the unique index of ten million
    # rows (about 50 bytes an entry) in memory.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    cursor.close()


def _copied_key(copy: int) -> str:
    return f"substr(record_key, 1, {KEY_PREFIX}) || '{copy:02d}'"


def _rebuild_rollups(conn: Connection) -> None:
    from models import MonthlyModelRollup, MonthlyRollup, Sale

    price = Sale.__table__.c.price.name
    for model in (MonthlyRollup, MonthlyModelRollup):
        table = model.__table__
        keys = ", ".join(column.name for column in table.primary_key.columns)
        count = table.c.sales_count.name
        revenue = table.c.revenue.name
        conn.execute(text(f"DELETE FROM {table.name}"))
        conn.execute(
            text(
                f"INSERT INTO {table.name} ({keys}, {count}, {revenue}) "
                f"SELECT {keys}, count(*), sum({price}) FROM sales GROUP BY {keys}"
            )
        )


def _check_counts(conn: Connection, source: str, factor: int) -> None:
    expected = (
        factor * conn.execute(text(f"SELECT count(*) FROM {source}.sales")).scalar()
    )
    copied = conn.execute(text("SELECT count(*) FROM sales")).scalar()
    counted = conn.execute(text("SELECT sum(sales_count) FROM sales_monthly")).scalar()
    if not copied == counted == expected:
        raise RuntimeError(
            f"derived database is inconsistent: expected {expected:,} sales, "
            f"copied {copied:,}, rollups count {counted or 0:,}"
        )


def derive_database(small: Database, factor: int) -> Database:
    """Create a database with ``factor`` copies of the sales in ``small``."""
    from models import Sale

    large = new_database(small.kind, f"refresh_x{factor}")
    try:
        with app_on(large):
            pass  # creates the tables
        engine = create_engine(large.url)
        if large.kind == "sqlite":
            event.listen(engine, "connect", _tune_sqlite_for_bulk_copy)
        started = time.perf_counter()
        with engine.begin() as conn:
            if small.kind == "sqlite":
                conn.execute(
                    text("ATTACH DATABASE :path AS source"), {"path": str(small.path)}
                )
                source = "source"
            else:
                source = small.schema
            for table in ("users", "fetch_tasks"):
                conn.execute(
                    text(f"INSERT INTO {table} SELECT * FROM {source}.{table}")
                )
            # Indexes are built once after the copy instead of row by row.
            for index in Sale.__table__.indexes:
                index.drop(conn)
            _copy_sales(conn, source, factor)
            for index in Sale.__table__.indexes:
                index.create(conn)
            _rebuild_rollups(conn)
            _check_counts(conn, source, factor)
        if small.kind == "postgres":
            with engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.execute(text("ANALYZE"))
        engine.dispose()
        log.info(
            "derived %s from %s in %.1f s",
            large.name,
            small.name,
            time.perf_counter() - started,
        )
    except Exception:
        large.drop()
        raise
    return large
