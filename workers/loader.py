"""Write batches of normalised sales, their rollups and rejected rows.

One call of ``store_batch`` is one transaction's worth of work: the new sales are
inserted with a single multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``,
and only the rows that the database actually inserted are added to the monthly
rollups, so a re-fetch or a concurrent fetch of the same rows never counts twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert as generic_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import MonthlyModelRollup, MonthlyRollup, RejectedRow, Sale
from sources.records import Rejection, SaleRecord


@dataclass(slots=True)
class BatchTarget:
    """Where a batch goes: whose data it is, which task loaded it, from what source."""

    owner_id: int
    task_id: int | None
    source_kind: str
    source_name: str


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")


def _sale_row(target: BatchTarget, key: str, record: SaleRecord) -> dict:
    return {
        "owner_id": target.owner_id,
        "task_id": target.task_id,
        "record_key": key,
        "source_record_id": record.source_record_id,
        "company": record.company,
        "car_model": record.car_model,
        "sold_at": record.sold_at,
        "utc_offset_minutes": record.utc_offset_minutes,
        "sale_date": record.sale_date,
        "month_key": record.sale_date.year * 100 + record.sale_date.month,
        "price": record.price,
        "currency": record.currency,
        "source_kind": target.source_kind,
        "source_name": target.source_name,
    }


def insert_sales(
    session: Session, target: BatchTarget, keyed: list[tuple[str, SaleRecord]]
) -> list[dict]:
    """Insert the sales whose keys are new and return the rows that were inserted.

    ``keyed`` must not repeat a key; the caller drops repeats within a batch.
    """
    if not keyed:
        return []
    rows = [_sale_row(target, key, record) for key, record in keyed]
    table = Sale.__table__
    statement = (
        _insert(session, table)
        .on_conflict_do_nothing(index_elements=["owner_id", "record_key"])
        .returning(table.c.record_key)
    )
    result = session.connection().execute(statement, rows)
    inserted = {row[0] for row in result}
    return [row for row in rows if row["record_key"] in inserted]


def add_to_rollups(session: Session, rows: list[dict]) -> None:
    """Add the counts and revenue of newly inserted sale rows to both rollups."""
    if not rows:
        return
    monthly: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    by_model: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        key = (row["owner_id"], row["month_key"], row["company"], row["source_kind"])
        entry = monthly[key]
        entry[0] += 1
        entry[1] += row["price"]
        model_key = key[:3] + (row["car_model"], row["source_kind"])
        entry = by_model[model_key]
        entry[0] += 1
        entry[1] += row["price"]

    _upsert_counts(
        session,
        MonthlyRollup.__table__,
        ["owner_id", "month_key", "company", "source_kind"],
        monthly,
    )
    _upsert_counts(
        session,
        MonthlyModelRollup.__table__,
        ["owner_id", "month_key", "company", "car_model", "source_kind"],
        by_model,
    )


def _upsert_counts(
    session: Session, table, key_columns: list[str], deltas: dict
) -> None:
    rows = [
        dict(zip(key_columns, key, strict=True), sales_count=count, revenue=revenue)
        for key, (count, revenue) in deltas.items()
    ]
    statement = _insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=key_columns,
        set_={
            "sales_count": table.c.sales_count + statement.excluded.sales_count,
            "revenue": table.c.revenue + statement.excluded.revenue,
        },
    )
    session.connection().execute(statement, rows)


def insert_rejections(
    session: Session, task_id: int, rejections: list[Rejection]
) -> None:
    if not rejections:
        return
    session.connection().execute(
        generic_insert(RejectedRow.__table__),
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


def store_batch(
    session: Session, target: BatchTarget, keyed: list[tuple[str, SaleRecord]]
) -> int:
    """Insert new sales and update the rollups; return how many rows were new."""
    inserted = insert_sales(session, target, keyed)
    add_to_rollups(session, inserted)
    return len(inserted)
