from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from models.base import db, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
CENT = Decimal("0.01")
# Largest price a sale may have: 999,999,999,999.99.
MAX_PRICE = Decimal("999999999999.99")


class Cents(TypeDecorator):
    """An exact money amount stored as a whole number of cents.

    Python sees ``Decimal`` values with two places. The database sees a BIGINT,
    so sums are exact integer sums on SQLite as well as on PostgreSQL (SQLite
    would store a NUMERIC column as a binary float).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(Decimal(value).quantize(CENT).scaleb(2))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-2)


class Sale(db.Model):
    """One car sale, normalised from any source."""

    __tablename__ = "sales"
    __table_args__ = (
        # The record key makes a re-fetch idempotent within one owner's data.
        UniqueConstraint("owner_id", "record_key"),
        Index("ix_sales_owner_date", "owner_id", "sale_date"),
        Index("ix_sales_owner_month_company", "owner_id", "month_key", "company"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("fetch_tasks.id", ondelete="SET NULL"), index=True
    )
    record_key: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str | None] = mapped_column(String(128))
    company: Mapped[str] = mapped_column(String(120))
    car_model: Mapped[str] = mapped_column(String(120))
    # Local wall-clock time of the sale, as the source gave it. The offset is kept
    # beside it and never shifts the sale to another day.
    sold_at: Mapped[datetime]
    utc_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    sale_date: Mapped[date]
    # year * 100 + month, so month grouping needs no date function per row.
    month_key: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column("price_cents", Cents, key="price")
    currency: Mapped[str | None] = mapped_column(String(3))
    source_kind: Mapped[str] = mapped_column(String(8))
    source_name: Mapped[str] = mapped_column(String(255))

    def __repr__(self) -> str:
        return (
            f"<Sale {self.id} {self.company} {self.car_model} {self.sale_date} "
            f"{self.price}>"
        )


class MonthlyRollup(db.Model):
    """Sales count and revenue per owner, month, company and source kind."""

    __tablename__ = "sales_monthly"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    month_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    company: Mapped[str] = mapped_column(String(120), primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    sales_count: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(
        "revenue_cents", Cents, key="revenue", default=0
    )


class MonthlyModelRollup(db.Model):
    """Like ``MonthlyRollup`` with the car model, for views filtered by model."""

    __tablename__ = "sales_monthly_model"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    month_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    company: Mapped[str] = mapped_column(String(120), primary_key=True)
    car_model: Mapped[str] = mapped_column(String(120), primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    sales_count: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(
        "revenue_cents", Cents, key="revenue", default=0
    )


class RejectedRow(db.Model):
    """A source row that could not be loaded, with the reason."""

    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("fetch_tasks.id", ondelete="CASCADE"), index=True
    )
    # Line number for files (the header is line 1), record number for APIs.
    line_no: Mapped[int | None]
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<RejectedRow task={self.task_id} line={self.line_no} {self.reason!r}>"


class DatasetVersion(db.Model):
    """A counter per owner that every batch adding sales raises by one.

    Cached dashboard results are keyed by it, so a cache entry is never served
    after the data under it changed.
    """

    __tablename__ = "dataset_versions"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, default=0)
