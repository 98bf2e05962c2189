"""Write batches of normalised sales, their rollups and rejected rows.

One call of ``store_batch`` is one transaction's worth of work. New sales are
bulk-inserted with ``ON CONFLICT DO NOTHING`` on the (owner, record key) unique
key, and only the rows the database actually inserted are added to the monthly
rollups, so a re-fetch, or two fetches of the same rows at once, never count a
sale twice.

Both paths bypass SQLAlchemy's per-row parameter processing, which costs more
than the database work at these row counts:

- SQLite: one prepared ``executemany`` INSERT. The rows it inserted are the last
  ``rowcount`` row ids, because SQLite allows one writer at a time and the
  transaction holds the write lock from its first INSERT until the commit.
- PostgreSQL: ``COPY`` into a temporary staging table, then a single statement
  that inserts from it and feeds the ``RETURNING`` rows into both rollups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import RejectedRow
from models.sales import Cents
from sources.records import Rejection, SaleRecord
from sources.spec import KINDS

SALE_COLUMNS = (
    "owner_id",
    "task_id",
    "record_key",
    "source_record_id",
    "company",
    "car_model",
    "sold_at",
    "utc_offset_minutes",
    "sale_date",
    "month_key",
    "price_cents",
    "currency",
    "source_kind",
    "source_name",
)
ROLLUP_KEYS = {
    "sales_monthly": ("owner_id", "month_key", "company", "source_kind"),
    "sales_monthly_model": (
        "owner_id",
        "month_key",
        "company",
        "car_model",
        "source_kind",
    ),
}
_cents = Cents().process_bind_param
# Rows converted to Python objects at a time for SQLite's executemany.
ROW_SLICE = 10_000


@dataclass(slots=True)
class BatchTarget:
    """Where a batch goes: whose data it is, which task loaded it, from what source."""

    owner_id: int
    task_id: int | None
    source_kind: str
    source_name: str


def _rollup_sql(table: str, source: str, where: str) -> str:
    """An upsert that adds the count and price sum of ``source`` rows to ``table``."""
    keys = ", ".join(ROLLUP_KEYS[table])
    return (
        f"INSERT INTO {table} AS r ({keys}, sales_count, revenue_cents) "
        f"SELECT {keys}, count(*), sum(price_cents) FROM {source} WHERE {where} "
        f"GROUP BY {keys} ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET "
        "sales_count = r.sales_count + excluded.sales_count, "
        "revenue_cents = r.revenue_cents + excluded.revenue_cents"
    )


_COLUMN_LIST = ", ".join(SALE_COLUMNS)
SQLITE_INSERT = (
    f"INSERT INTO sales ({_COLUMN_LIST}) "
    f"VALUES ({', '.join('?' for _ in SALE_COLUMNS)}) "
    "ON CONFLICT (owner_id, record_key) DO NOTHING"
)
SQLITE_ROLLUPS = [
    _rollup_sql(table, "sales", "id > ? AND id <= ?") for table in ROLLUP_KEYS
]
POSTGRES_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS sales_staging "
    "ON COMMIT DELETE ROWS AS "
    f"SELECT {_COLUMN_LIST} FROM sales WITH NO DATA"
)
POSTGRES_COPY = f"COPY sales_staging ({_COLUMN_LIST}) FROM STDIN"
POSTGRES_MERGE = (
    "WITH inserted AS ("
    f"INSERT INTO sales ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM sales_staging "
    "ON CONFLICT (owner_id, record_key) DO NOTHING "
    "RETURNING owner_id, month_key, company, car_model, source_kind, price_cents"
    "), monthly AS ("
    + _rollup_sql("sales_monthly", "inserted", "true")
    + "), by_model AS ("
    + _rollup_sql("sales_monthly_model", "inserted", "true")
    + ") SELECT count(*) FROM inserted"
)


BUMP_VERSION = (
    "INSERT INTO dataset_versions (owner_id, version) VALUES ({owner}, 1) "
    "ON CONFLICT (owner_id) DO UPDATE SET version = dataset_versions.version + 1"
)


def _rows(target: BatchTarget, keyed: list[tuple[str, SaleRecord]], text_times: bool):
    for key, record in keyed:
        day = record.sale_date
        yield (
            target.owner_id,
            target.task_id,
            key,
            record.source_record_id,
            record.company,
            record.car_model,
            # SQLAlchemy stores SQLite DATETIME and DATE values as ISO text.
            record.sold_at.isoformat(" ") if text_times else record.sold_at,
            record.utc_offset_minutes,
            day.isoformat() if text_times else day,
            day.year * 100 + day.month,
            _cents(record.price, None),
            record.currency,
            target.source_kind,
            target.source_name,
        )


def _store_sqlite(connection, rows, owner_id: int) -> int:
    cursor = connection.cursor()
    try:
        cursor.executemany(SQLITE_INSERT, rows)
        inserted = cursor.rowcount
        if inserted <= 0:
            return 0
        last_id = cursor.execute("SELECT max(id) FROM sales").fetchone()[0]
        for statement in SQLITE_ROLLUPS:
            cursor.execute(statement, (last_id - inserted, last_id))
        cursor.execute(BUMP_VERSION.format(owner="?"), (owner_id,))
        return inserted
    finally:
        cursor.close()


def _store_postgres(connection, rows, owner_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(POSTGRES_STAGING)
        with cursor.copy(POSTGRES_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(POSTGRES_MERGE)
        inserted = cursor.fetchone()[0]
        cursor.execute("TRUNCATE sales_staging")
        if inserted:
            cursor.execute(BUMP_VERSION.format(owner="%s"), (owner_id,))
        return inserted


def store_batch(
    session: Session, target: BatchTarget, keyed: list[tuple[str, SaleRecord]]
) -> int:
    """Insert new sales and add them to the rollups; return how many were new.

    ``keyed`` pairs each record with its record key and must not repeat a key.
    The caller commits.
    """
    if not keyed:
        return 0
    connection = session.connection()
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    if dialect == "sqlite":
        rows = _rows(target, keyed, text_times=True)
        return _store_sqlite(raw, rows, target.owner_id)
    if dialect == "postgresql":
        rows = _rows(target, keyed, text_times=False)
        return _store_postgres(raw, rows, target.owner_id)
    raise RuntimeError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")


# Columns of a batch table from ``sources.columnar`` that vary by row. The
# loader adds owner_id, task_id, source_kind and source_name, which a batch
# shares.
BATCH_COLUMNS = (
    "record_key",
    "source_record_id",
    "company",
    "car_model",
    "sold_at",
    "utc_offset_minutes",
    "sale_date",
    "month_key",
    "price_cents",
    "currency",
)
_BATCH_LIST = ", ".join(BATCH_COLUMNS)
POSTGRES_BATCH = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS sales_batch "
    "ON COMMIT DELETE ROWS AS "
    f"SELECT {_BATCH_LIST} FROM sales WITH NO DATA"
)
POSTGRES_BATCH_COPY = f"COPY sales_batch ({_BATCH_LIST}) FROM STDIN"
POSTGRES_BATCH_MERGE = (
    "WITH inserted AS ("
    f"INSERT INTO sales ({_COLUMN_LIST}) "
    f"SELECT %(owner_id)s, %(task_id)s, {_BATCH_LIST}, %(source_kind)s, "
    "%(source_name)s FROM sales_batch "
    "ON CONFLICT (owner_id, record_key) DO NOTHING "
    "RETURNING owner_id, month_key, company, car_model, source_kind, price_cents"
    "), monthly AS ("
    + _rollup_sql("sales_monthly", "inserted", "true")
    + "), by_model AS ("
    + _rollup_sql("sales_monthly_model", "inserted", "true")
    + ") SELECT count(*) FROM inserted"
)
# Characters that COPY's text format writes as a backslash escape.
_COPY_SPECIAL = r"[\\\t\n\r]"
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def store_columns(session: Session, target: BatchTarget, sales: pa.Table) -> int:
    """Insert new sales from a batch table and add them to the rollups.

    ``sales`` has the ``BATCH_COLUMNS`` of ``sources.columnar`` and must not
    repeat a record key. Rows are inserted in table order. Returns how many were
    new; the caller commits.
    """
    if sales.num_rows == 0:
        return 0
    if target.source_kind not in KINDS:
        raise ValueError(f"unknown source kind {target.source_kind!r}")
    connection = session.connection()
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    if dialect == "sqlite":
        return _store_sqlite_columns(raw, target, sales)
    if dialect == "postgresql":
        return _store_postgres_columns(raw, target, sales)
    raise RuntimeError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")


def _sqlite_insert(target: BatchTarget, constant: dict[str, str]) -> str:
    """Build the INSERT for one batch; shared values are SQL literals.

    Only integers, NULL and a source kind from ``KINDS`` are written as literals,
    so no text from a source reaches the SQL. Fewer bound parameters per row make
    ``executemany`` about a third faster.
    """
    values = []
    for name in SALE_COLUMNS:
        if name == "owner_id":
            values.append(str(int(target.owner_id)))
        elif name == "task_id":
            task_id = target.task_id
            values.append("NULL" if task_id is None else str(int(task_id)))
        elif name == "source_kind":
            values.append(f"'{target.source_kind}'")
        elif name in constant:
            values.append(constant[name])
        else:
            values.append("?")
    return (
        f"INSERT INTO sales ({_COLUMN_LIST}) VALUES ({', '.join(values)}) "
        "ON CONFLICT (owner_id, record_key) DO NOTHING"
    )


def _store_sqlite_columns(connection, target: BatchTarget, sales: pa.Table) -> int:
    constant = {
        name: "NULL"
        for name in ("source_record_id", "utc_offset_minutes", "currency")
        if sales.column(name).null_count == sales.num_rows
    }
    bound = [name for name in BATCH_COLUMNS if name not in constant]
    rows = _python_rows(sales.select(bound), target.source_name)
    cursor = connection.cursor()
    try:
        cursor.executemany(_sqlite_insert(target, constant), rows)
        inserted = cursor.rowcount
        if inserted <= 0:
            return 0
        last_id = cursor.execute("SELECT max(id) FROM sales").fetchone()[0]
        for statement in SQLITE_ROLLUPS:
            cursor.execute(statement, (last_id - inserted, last_id))
        cursor.execute(BUMP_VERSION.format(owner="?"), (target.owner_id,))
        return inserted
    finally:
        cursor.close()


def _python_rows(sales: pa.Table, source_name: str) -> Iterator[tuple]:
    """Yield the rows of ``sales`` as tuples ending with ``source_name``.

    Rows are converted a slice at a time, so a large batch never exists as
    Python objects all at once.
    """
    for part in sales.to_batches(max_chunksize=ROW_SLICE):
        columns = [column.to_pylist() for column in part.columns]
        columns.append([source_name] * part.num_rows)
        yield from zip(*columns, strict=True)


def _store_postgres_columns(connection, target: BatchTarget, sales: pa.Table) -> int:
    with connection.cursor() as cursor:
        cursor.execute(POSTGRES_BATCH)
        with cursor.copy(POSTGRES_BATCH_COPY) as copy:
            copy.write(copy_payload(sales))
        cursor.execute(
            POSTGRES_BATCH_MERGE,
            {
                "owner_id": target.owner_id,
                "task_id": target.task_id,
                "source_kind": target.source_kind,
                "source_name": target.source_name,
            },
        )
        inserted = cursor.fetchone()[0]
        cursor.execute("TRUNCATE sales_batch")
        if inserted:
            cursor.execute(BUMP_VERSION.format(owner="%s"), (target.owner_id,))
        return inserted


def copy_payload(sales: pa.Table) -> bytes:
    """Write the ``BATCH_COLUMNS`` of ``sales`` in COPY's text format."""
    fields = []
    for name in BATCH_COLUMNS:
        column = sales.column(name)
        if pa.types.is_string(column.type):
            if pc.any(pc.match_substring_regex(column, _COPY_SPECIAL)).as_py():
                for special, escape in _COPY_ESCAPES:
                    column = pc.replace_substring(column, special, escape)
        else:
            column = pc.cast(column, pa.string())
        fields.append(pc.fill_null(column, "\\N"))
    lines = pc.binary_join_element_wise(*fields, "\t")
    lines = pc.binary_join_element_wise(lines, "\n", "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # The values of a string array lie back to back in its data buffer, so the
    # bytes from the first offset to the last are the whole payload.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first = int(offsets[lines.offset])
    last = int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].slice(first, last - first).to_pybytes()


def insert_rejections(
    session: Session, task_id: int, rejections: list[Rejection]
) -> None:
    if not rejections:
        return
    session.execute(
        insert(RejectedRow),
        [
            {
                "task_id": task_id,
                "line_no": item.line_no,
                "raw": item.raw,
                "reason": item.reason,
            }
            for item in rejections
        ],
    )
