"""Aggregate queries over the rollup tables, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from dashboard import analytics
from dashboard.analytics import SalesQuery
from models import MonthlyRollup, db
from tests.dashboard.conftest import quick_user, seed_sales

ANA_SALES = [
    ("Toyota", "Camry", "2023-01-15", "25000.00", "csv", "T1"),
    ("Toyota", "Corolla", "2023-01-20", "20000.50", "csv", "T2"),
    ("Honda", "Civic", "2023-02-03", "23950.50", "json", "H1"),
    ("Toyota", "Camry", "2022-02-10", "24000.00", "api", "T3"),
    ("BMW", "X5", "2022-12-31", "60000.99", "api", "B1"),
]
BOB_SALES = [("Ford", "Focus", "2023-01-05", "18000.00", "csv", "F1")]


@pytest.fixture
def seeded(any_app):
    """Two analysts with their own sales; returns the app and their ids."""
    ana = quick_user(any_app, "ana")
    bob = quick_user(any_app, "bob")
    seed_sales(any_app, ana, ANA_SALES)
    seed_sales(any_app, bob, BOB_SALES)
    with any_app.app_context():
        yield SimpleNamespace(app=any_app, ana=ana, bob=bob)


def test_summary_totals(seeded):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana))
    assert result["total_sales"] == 5
    assert result["revenue"] == "152951.99"
    assert result["average_price"] == "30590.40"


def test_summary_by_month(seeded):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana))
    assert result["by_month"] == [
        {"month": "2022-02", "sales": 1, "revenue": "24000.00"},
        {"month": "2022-12", "sales": 1, "revenue": "60000.99"},
        {"month": "2023-01", "sales": 2, "revenue": "45000.50"},
        {"month": "2023-02", "sales": 1, "revenue": "23950.50"},
    ]


def test_summary_by_company_sales_desc(seeded):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana))
    assert result["by_company"] == [
        {"company": "Toyota", "sales": 3, "revenue": "69000.50"},
        {"company": "BMW", "sales": 1, "revenue": "60000.99"},
        {"company": "Honda", "sales": 1, "revenue": "23950.50"},
    ]


def test_summary_by_source(seeded):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana))
    assert result["by_source"] == [
        {"source": "api", "sales": 2, "revenue": "84000.99"},
        {"source": "csv", "sales": 2, "revenue": "45000.50"},
        {"source": "json", "sales": 1, "revenue": "23950.50"},
    ]


def test_summary_empty_selection(seeded):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana, years=(1999,)))
    assert result == {
        "total_sales": 0,
        "revenue": "0.00",
        "average_price": None,
        "by_month": [],
        "by_company": [],
        "by_source": [],
    }


def test_heatmap_cells(seeded):
    cells = analytics.heatmap(SalesQuery(owner_id=seeded.ana))
    assert cells == [
        {"year": 2022, "month": 2, "sales": 1, "revenue": "24000.00"},
        {"year": 2022, "month": 12, "sales": 1, "revenue": "60000.99"},
        {"year": 2023, "month": 1, "sales": 2, "revenue": "45000.50"},
        {"year": 2023, "month": 2, "sales": 1, "revenue": "23950.50"},
    ]


@pytest.mark.parametrize(
    ("filters", "sales", "revenue"),
    [
        ({"years": (2023,)}, 3, "68951.00"),
        ({"years": (2022, 2023)}, 5, "152951.99"),
        ({"months": (2,)}, 2, "47950.50"),
        ({"years": (2022,), "months": (2,)}, 1, "24000.00"),
        ({"years": (2022,), "months": (1,)}, 0, "0.00"),
        ({"companies": ("Toyota",)}, 3, "69000.50"),
        ({"companies": ("Toyota", "BMW")}, 4, "129001.49"),
        ({"models": ("Camry",)}, 2, "49000.00"),
        ({"companies": ("Toyota",), "models": ("Corolla",)}, 1, "20000.50"),
        ({"sources": ("api",)}, 2, "84000.99"),
        (
            {"companies": ("Toyota",), "sources": ("csv",), "years": (2023,)},
            2,
            "45000.50",
        ),
        ({"companies": ("Nobody",)}, 0, "0.00"),
    ],
)
def test_summary_filters(seeded, filters, sales, revenue):
    result = analytics.summary(SalesQuery(owner_id=seeded.ana, **filters))
    assert result["total_sales"] == sales
    assert result["revenue"] == revenue


def test_model_filter_reads_model_rollup(seeded):
    # With the company rollup emptied, only a query on the model rollup still
    # finds the Camry sales.
    db.session.execute(db.delete(MonthlyRollup))
    db.session.commit()
    unfiltered = analytics.summary(SalesQuery(owner_id=seeded.ana))
    by_model = analytics.summary(SalesQuery(owner_id=seeded.ana, models=("Camry",)))
    assert unfiltered["total_sales"] == 0
    assert by_model["total_sales"] == 2
    assert by_model["by_month"] == [
        {"month": "2022-02", "sales": 1, "revenue": "24000.00"},
        {"month": "2023-01", "sales": 1, "revenue": "25000.00"},
    ]


def test_owner_scoping_hides_other_users(seeded):
    ana = analytics.summary(SalesQuery(owner_id=seeded.ana))
    bob = analytics.summary(SalesQuery(owner_id=seeded.bob))
    assert "Ford" not in [row["company"] for row in ana["by_company"]]
    assert [row["company"] for row in bob["by_company"]] == ["Ford"]
    assert bob["total_sales"] == 1


def test_owner_scoping_list_and_export(seeded):
    rows, total = analytics.list_sales(SalesQuery(owner_id=seeded.bob), 1, 50)
    exported = list(analytics.export_rows(SalesQuery(owner_id=seeded.bob)))
    assert total == 1
    assert [row["company"] for row in rows] == ["Ford"]
    assert len(exported) == 2
    assert exported[1][1] == "Ford"


def test_admin_scope_sees_all(seeded):
    admin = SimpleNamespace(id=99, is_admin=True)
    analyst = SimpleNamespace(id=seeded.ana, is_admin=False)
    assert analytics.scope_owner(admin) is None
    assert analytics.scope_owner(analyst) == seeded.ana
    result = analytics.summary(SalesQuery(owner_id=analytics.scope_owner(admin)))
    assert result["total_sales"] == 6
    assert result["revenue"] == "170951.99"


def test_filter_options_for_owner(seeded):
    options = analytics.filter_options(seeded.ana)
    assert options == {
        "years": [2022, 2023],
        "months": [1, 2, 12],
        "companies": ["BMW", "Honda", "Toyota"],
        "models": ["Camry", "Civic", "Corolla", "X5"],
        "sources": ["api", "csv", "json"],
    }


def test_filter_options_models_narrowed(seeded):
    options = analytics.filter_options(seeded.ana, ("Toyota",))
    assert options["models"] == ["Camry", "Corolla"]
    assert options["companies"] == ["BMW", "Honda", "Toyota"]


def test_filter_options_all_owners(seeded):
    options = analytics.filter_options(None)
    assert "Ford" in options["companies"]
    assert "Focus" in options["models"]


def test_list_sales_pages_newest_first(seeded):
    query = SalesQuery(owner_id=seeded.ana)
    first, total = analytics.list_sales(query, 1, 2)
    last, _ = analytics.list_sales(query, 3, 2)
    beyond, beyond_total = analytics.list_sales(query, 4, 2)
    assert total == 5
    assert [row["car_model"] for row in first] == ["Civic", "Corolla"]
    assert [row["sale_date"] for row in last] == ["2022-02-10"]
    assert beyond == []
    assert beyond_total == 5


def test_list_sales_row_shape(seeded):
    rows, _ = analytics.list_sales(
        SalesQuery(owner_id=seeded.ana, models=("X5",)), 1, 10
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["company"] == "BMW"
    assert row["price"] == "60000.99"
    assert row["sale_date"] == "2022-12-31"
    assert row["sold_at"] == "2022-12-31T09:00:00"
    assert row["utc_offset_minutes"] == -480
    assert row["currency"] == "USD"
    assert row["source"] == "api"
    assert row["source_name"] == "sales.api"
    assert row["task_id"] is None
    assert isinstance(row["id"], int)


def test_list_sales_filters(seeded):
    query = SalesQuery(owner_id=seeded.ana, years=(2023,), sources=("csv",))
    rows, total = analytics.list_sales(query, 1, 10)
    assert total == 2
    assert [row["car_model"] for row in rows] == ["Corolla", "Camry"]


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (1, 0), (1, 1001)])
def test_list_sales_rejects_bad_paging(seeded, page, per_page):
    with pytest.raises(ValueError, match="is invalid"):
        analytics.list_sales(SalesQuery(owner_id=seeded.ana), page, per_page)


def test_revenue_sums_exact_cents(any_app):
    owner = quick_user(any_app, "cents")
    rows = [
        ("Fiat", "Panda", f"2023-{month:02d}-01", price, "csv", None)
        for month, price in ((1, "0.10"), (2, "0.20"), (3, "0.01"), (4, "1234567.89"))
    ]
    seed_sales(any_app, owner, rows)
    with any_app.app_context():
        result = analytics.summary(SalesQuery(owner_id=owner))
    assert result["revenue"] == "1234568.20"
    assert result["average_price"] == "308642.05"


FORMULA_SALES = [
    ("=1+2", "Golf", "2023-05-06", "10000.00", "csv", "1"),
    ("VW", "@SUM(1;2)", "2023-05-05", "10000.00", "csv", "2"),
    ("+Opel", "Corsa", "2023-05-04", "10000.00", "csv", "3"),
    ("Kia", "-Rio", "2023-05-03", "10000.00", "csv", "4"),
    (
        '=HYPERLINK("https://example.invalid","x")',
        "Up",
        "2023-05-02",
        "10000.00",
        "csv",
        "5",
    ),
    ("Kia", "Rio", "2023-05-01", "10000.00", "csv", "-6"),
]


def test_export_escapes_formula_cells(any_app):
    owner = quick_user(any_app, "eve")
    seed_sales(any_app, owner, FORMULA_SALES)
    with any_app.app_context():
        rows = list(analytics.export_rows(SalesQuery(owner_id=owner)))
    header, body = rows[0], rows[1:]
    company = header.index("company")
    model = header.index("car_model")
    price = header.index("price")
    record = header.index("source_record_id")
    assert header == analytics.EXPORT_HEADER
    assert [row[company] for row in body] == [
        "'=1+2",
        "VW",
        "'+Opel",
        "Kia",
        '\'=HYPERLINK("https://example.invalid","x")',
        "Kia",
    ]
    assert [row[model] for row in body] == [
        "Golf",
        "'@SUM(1;2)",
        "Corsa",
        "'-Rio",
        "Up",
        "Rio",
    ]
    assert [row[record] for row in body][-1] == "'-6"
    assert {row[price] for row in body} == {"10000.00"}


def test_export_round_trips_through_csv(any_app):
    owner = quick_user(any_app, "eve")
    seed_sales(any_app, owner, FORMULA_SALES)
    with any_app.app_context():
        buffer = io.StringIO()
        csv.writer(buffer).writerows(analytics.export_rows(SalesQuery(owner_id=owner)))
    parsed = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert len(parsed) == 6
    assert parsed[0]["company"] == "'=1+2"
    assert parsed[0]["utc_offset_minutes"] == "-480"
    assert parsed[0]["sale_date"] == "2023-05-06"


def test_export_applies_filters(seeded):
    query = SalesQuery(owner_id=seeded.ana, companies=("Toyota",), years=(2023,))
    rows = list(analytics.export_rows(query))
    assert len(rows) == 3
    assert [row[2] for row in rows[1:]] == ["Corolla", "Camry"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+Opel", "'+Opel"),
        ("-Rio", "'-Rio"),
        ("@SUM(1;2)", "'@SUM(1;2)"),
        ("\tRio", "'\tRio"),
        ("\rRio", "'\rRio"),
        ("Rio", "Rio"),
        ("Mercedes-Benz", "Mercedes-Benz"),
        ("", ""),
    ],
)
def test_escape_cell(value, expected):
    assert analytics.escape_cell(value) == expected
