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

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import RejectedRow
from models.sales import Cents
from sources.records import Rejection, SaleRecord

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
