"""The filter model and the SQL queries behind the analytics page and sales API.

Charts read the monthly rollup tables (``sales_monthly``, and
``sales_monthly_model`` when a model filter is set), so a refresh costs the number
of (month, company, source) groups, not the number of sales. Only ``list_sales``
and ``export_rows`` read the ``sales`` table, one page or one batch at a time.

The rollups store revenue as a whole number of cents, so SQL sums are exact
integers on SQLite as on PostgreSQL, and money comes back as exact ``Decimal``
strings with two places.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    func,
    or_,
    type_coerce,
)
from sqlalchemy import select as sql_select

from dashboard.cache import remember
from models import MonthlyModelRollup, MonthlyRollup, Sale, db

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_PER_PAGE = 1000
EXPORT_BATCH = 2000
EXPORT_HEADER = [
    "id",
    "company",
    "car_model",
    "sale_date",
    "sold_at",
    "utc_offset_minutes",
    "price",
    "currency",
    "source",
    "source_name",
    "source_record_id",
    "task_id",
]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

MONTHLY = MonthlyRollup.__table__
MONTHLY_MODEL = MonthlyModelRollup.__table__
SALES = Sale.__table__


@dataclass(frozen=True)
class SalesQuery:
    """Filters for sales and their aggregates. An empty tuple means no filter."""

    owner_id: int | None = None  # None means every owner, for admins
    years: tuple[int, ...] = ()
    months: tuple[int, ...] = ()  # 1..12
    companies: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # json, csv, api


def scope_owner(user: Any) -> int | None:
    """Return the owner id that limits ``user``'s queries, or None for an admin."""
    if getattr(user, "is_admin", False):
        return None
    return user.id


def _filter_conditions(table: Table, query: SalesQuery) -> list[ColumnElement]:
    """Build WHERE conditions for a table with owner_id, month_key, company,
    source_kind and, when ``query.models`` is set, car_model columns."""
    columns = table.c
    conditions: list[ColumnElement] = []
    if query.owner_id is not None:
        conditions.append(columns.owner_id == query.owner_id)

    month_key = columns.month_key
    if query.years and query.months:
        keys = sorted({y * 100 + m for y in query.years for m in query.months})
        conditions.append(month_key.in_(keys))
    elif query.years:
        # One range per year keeps the month_key index usable.
        ranges = [month_key.between(y * 100 + 1, y * 100 + 12) for y in query.years]
        conditions.append(or_(*ranges))
    elif query.months:
        conditions.append((month_key % 100).in_(sorted(set(query.months))))

    if query.companies:
        conditions.append(columns.company.in_(query.companies))
    if query.models:
        conditions.append(columns.car_model.in_(query.models))
    if query.sources:
        conditions.append(columns.source_kind.in_(query.sources))
    return conditions


def _rollup_table(query: SalesQuery) -> Table:
    """Pick the smaller rollup unless a model filter needs the model column."""
    return MONTHLY_MODEL if query.models else MONTHLY


def _cents_sum(table: Table) -> ColumnElement:
    # The rollups store revenue as whole cents, so the sum is an exact integer.
    return func.sum(type_coerce(table.c.revenue, BigInteger))


def _money(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def _grouped(query: SalesQuery, group_column: str) -> list[tuple[Any, int, Decimal]]:
    """Return (group value, sales count, revenue) per value of one rollup column."""
    table = _rollup_table(query)
    column = table.c[group_column]
    statement = (
        sql_select(column, func.sum(table.c.sales_count), _cents_sum(table))
        .where(*_filter_conditions(table, query))
        .group_by(column)
    )
    rows = db.session.execute(statement).all()
    return [(value, int(count or 0), _money(cents)) for value, count, cents in rows]


def _month_label(month_key: int) -> str:
    return f"{month_key // 100:04d}-{month_key % 100:02d}"


def summary(query: SalesQuery) -> dict[str, Any]:
    """Aggregate sales for ``query``: totals and breakdowns by month, company and
    source. Money values are exact decimal strings with two places.

    Results are cached until the next batch of sales in the query's scope."""
    return remember("summary", query.owner_id, query, lambda: _summary(query))


def _summary(query: SalesQuery) -> dict[str, Any]:
    by_source_rows = _grouped(query, "source_kind")
    total_sales = sum(count for _, count, _ in by_source_rows)
    revenue = sum((money for _, _, money in by_source_rows), Decimal("0.00"))
    average = None
    if total_sales:
        average = str((revenue / total_sales).quantize(CENT, rounding=ROUND_HALF_UP))

    by_month = sorted(_grouped(query, "month_key"))
    by_company = sorted(_grouped(query, "company"), key=lambda row: (-row[1], row[0]))
    by_source = sorted(by_source_rows, key=lambda row: (-row[1], row[0]))
    return {
        "total_sales": total_sales,
        "revenue": str(revenue),
        "average_price": average,
        "by_month": [
            {"month": _month_label(key), "sales": count, "revenue": str(money)}
            for key, count, money in by_month
        ],
        "by_company": [
            {"company": name, "sales": count, "revenue": str(money)}
            for name, count, money in by_company
        ],
        "by_source": [
            {"source": kind, "sales": count, "revenue": str(money)}
            for kind, count, money in by_source
        ],
    }


def heatmap(query: SalesQuery) -> list[dict[str, Any]]:
    """Return sales and revenue per (year, month) cell, in calendar order.

    The cells are the months of ``summary``, so a refresh that draws both runs
    the month query once.
    """
    cells = []
    for row in summary(query)["by_month"]:
        year, month = row["month"].split("-")
        cells.append(
            {
                "year": int(year),
                "month": int(month),
                "sales": row["sales"],
                "revenue": row["revenue"],
            }
        )
    return cells


def _distinct(statement: Select) -> list[Any]:
    return [row[0] for row in db.session.execute(statement).all()]


def filter_options(owner_id: int | None, companies: tuple[str, ...] = ()) -> dict:
    """List the values each analytics filter can take for ``owner_id``'s data.

    Models are narrowed to ``companies`` when any are given.
    """
    companies = tuple(companies)
    return remember(
        "options", owner_id, companies, lambda: _filter_options(owner_id, companies)
    )


def _filter_options(owner_id: int | None, companies: tuple[str, ...]) -> dict:
    owner_only = SalesQuery(owner_id=owner_id)
    monthly_where = _filter_conditions(MONTHLY, owner_only)
    month_keys = _distinct(
        sql_select(MONTHLY.c.month_key).where(*monthly_where).distinct()
    )
    company_names = _distinct(
        sql_select(MONTHLY.c.company)
        .where(*monthly_where)
        .distinct()
        .order_by(MONTHLY.c.company)
    )
    source_kinds = _distinct(
        sql_select(MONTHLY.c.source_kind)
        .where(*monthly_where)
        .distinct()
        .order_by(MONTHLY.c.source_kind)
    )

    narrowed = SalesQuery(owner_id=owner_id, companies=tuple(companies))
    model_where = _filter_conditions(MONTHLY_MODEL, narrowed)
    model_names = _distinct(
        sql_select(MONTHLY_MODEL.c.car_model)
        .where(*model_where)
        .distinct()
        .order_by(MONTHLY_MODEL.c.car_model)
    )
    return {
        "years": sorted({key // 100 for key in month_keys}),
        "months": sorted({key % 100 for key in month_keys}),
        "companies": company_names,
        "models": model_names,
        "sources": source_kinds,
    }


def _sales_select(query: SalesQuery) -> Select:
    columns = SALES.c
    return (
        sql_select(
            columns.id,
            columns.company,
            columns.car_model,
            columns.sale_date,
            columns.sold_at,
            columns.utc_offset_minutes,
            columns.price,
            columns.currency,
            columns.source_kind,
            columns.source_name,
            columns.source_record_id,
            columns.task_id,
        )
        .where(*_filter_conditions(SALES, query))
        .order_by(columns.sale_date.desc(), columns.sold_at.desc(), columns.id.desc())
    )


def _price_text(price: Any) -> str:
    return str(Decimal(str(price)).quantize(CENT))


def list_sales(
    query: SalesQuery, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of sales, newest first, and the number of matching sales.

    ``page`` starts at 1. Raise ``ValueError`` for a page below 1 or a page size
    outside 1 to ``MAX_PER_PAGE``.
    """
    if page < 1:
        raise ValueError(f"page {page} is invalid; pages start at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(
            f"per_page {per_page} is invalid; use a number from 1 to {MAX_PER_PAGE}"
        )

    count_statement = (
        sql_select(func.count())
        .select_from(SALES)
        .where(*_filter_conditions(SALES, query))
    )
    total = int(db.session.execute(count_statement).scalar_one())

    statement = _sales_select(query).limit(per_page).offset((page - 1) * per_page)
    rows = db.session.execute(statement).all()
    items = [
        {
            "id": row.id,
            "company": row.company,
            "car_model": row.car_model,
            "sale_date": row.sale_date.isoformat(),
            "sold_at": row.sold_at.isoformat(),
            "utc_offset_minutes": row.utc_offset_minutes,
            "price": _price_text(row.price),
            "currency": row.currency,
            "source": row.source_kind,
            "source_name": row.source_name,
            "task_id": row.task_id,
        }
        for row in rows
    ]
    return items, total


def escape_cell(value: str) -> str:
    """Prefix text that a spreadsheet would run as a formula with a quote."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text(value: Any) -> str:
    return "" if value is None else escape_cell(str(value))


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def export_rows(query: SalesQuery) -> Iterator[list[str]]:
    """Yield the CSV header, then one row per matching sale, newest first.

    Rows are read in batches of ``EXPORT_BATCH`` (a server-side cursor on
    PostgreSQL), so memory stays flat for any number of sales. Text cells that
    a spreadsheet would run as a formula get a leading quote, and numbers and
    dates are written as they are. The caller iterates inside an app context,
    for example with Flask's ``stream_with_context``.
    """
    yield list(EXPORT_HEADER)

    statement = _sales_select(query).execution_options(yield_per=EXPORT_BATCH)
    exported = 0
    for row in db.session.execute(statement):
        exported += 1
        yield [
            _number(row.id),
            _text(row.company),
            _text(row.car_model),
            row.sale_date.isoformat(),
            row.sold_at.isoformat(),
            _number(row.utc_offset_minutes),
            _price_text(row.price),
            _text(row.currency),
            _text(row.source_kind),
            _text(row.source_name),
            _text(row.source_record_id),
            _number(row.task_id),
        ]
    log.info("exported %d sales for owner %s", exported, query.owner_id)
