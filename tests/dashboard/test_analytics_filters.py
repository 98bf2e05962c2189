"""Analytics filters sent by the browser: bad values never reach SQL or cause a 500."""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy import event

from models import db
from tests.dashboard.conftest import (
    call_dash,
    quick_user,
    seed_sales,
    signed_in_client,
)

FILTERS = ("year", "month", "company", "model", "source")
SALES = [
    ("Toyota", "Camry", "2023-01-15", "25000.00", "csv", "T1"),
    ("Toyota", "Corolla", "2023-02-20", "20000.50", "api", "T2"),
    ("Honda", "Civic", "2022-02-03", "23950.50", "json", "H1"),
]


@pytest.fixture
def ana_client(app):
    ana = quick_user(app, "ana")
    seed_sales(app, ana, SALES)
    return signed_in_client(app, ana)


@pytest.fixture
def build_query(app):
    """The page's ``build_query``. Dash loads page modules as ``pages.<name>``
    when the app starts, and importing one before that fails."""
    return sys.modules["pages.analytics"].build_query


def refresh(client, **filters):
    values = {(f"analytics-{name}", "value"): filters.get(name) for name in FILTERS}
    response = call_dash(client, "analytics-volume", values)
    assert response.status_code == 200, response.data[:500]
    return response.get_json()["response"]


def total_sales(result) -> str:
    return result["analytics-total-sales"]["children"]


@pytest.mark.parametrize(
    ("filters", "sales"),
    [
        ({"year": ["abc", None, {"a": 1}, [2023], True, 99999]}, "3"),
        ({"year": ["2023", 2023.0, "1" * 5000]}, "2"),
        ({"year": 2022}, "1"),
        ({"month": [13, 0, "x", -1]}, "3"),
        ({"month": ["2"]}, "2"),
        ({"company": [{"name": "Toyota"}, 5, None, "Honda"]}, "1"),
        ({"company": "Toyota"}, "2"),
        ({"company": ["x" * 121]}, "3"),
        ({"model": [["Camry"], "Civic"]}, "1"),
        ({"source": ["sql", "csv' OR 1=1 --", "api"]}, "1"),
        ({"source": {"kind": "csv"}}, "3"),
    ],
)
def test_refresh_ignores_invalid_filter_values(ana_client, filters, sales):
    result = refresh(ana_client, **filters)

    assert total_sales(result) == sales


def test_refresh_uses_at_most_50_values(app, ana_client):
    companies = [f"Make {number}" for number in range(5000)] + ["Honda"]
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            result = refresh(ana_client, company=companies)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    assert total_sales(result) == "0"
    assert result["analytics-filter-note"]["children"] == (
        "Only the first 50 values of each filter are used (company). Choose at most 50."
    )
    longest = max(
        len(json.dumps(parameters, default=str)) for _, parameters in statements
    )
    assert longest < 5000


def test_refresh_without_extra_values_has_no_note(ana_client):
    result = refresh(ana_client, company=["Toyota"], year=[2023])

    assert result["analytics-filter-note"]["children"] == ""
    assert total_sales(result) == "2"


def test_build_query_keeps_valid_values(build_query):
    query = build_query(
        7,
        [2023, "2022", 2023, 1899, 2201],
        list(range(1, 20)),
        [" Toyota ", "Toyota", ""],
        None,
        ["csv", "api", "csv"],
    )

    assert query.owner_id == 7
    assert query.years == (2023, 2022)
    assert query.months == tuple(range(1, 13))
    assert query.companies == ("Toyota",)
    assert query.models == ()
    assert query.sources == ("csv", "api")


def test_build_query_caps_each_filter(build_query):
    query = build_query(
        None,
        list(range(1900, 2201)),
        None,
        [f"c{number}" for number in range(100)],
        [f"m{number}" for number in range(100)],
        None,
    )

    assert len(query.years) == 50
    assert query.years[0] == 1900
    assert len(query.companies) == 50
    assert len(query.models) == 50


def test_model_options_ignore_invalid_values(ana_client):
    response = call_dash(
        ana_client,
        "analytics-model",
        {("analytics-company", "value"): [{"a": 1}, "Honda", ["Toyota"]]},
        state={("analytics-model", "value"): [["Camry"], {"b": 2}, "Civic"]},
        triggered=["analytics-company.value"],
    )

    assert response.status_code == 200, response.data[:500]
    result = response.get_json()["response"]
    assert result["analytics-model"]["options"] == ["Civic"]
    assert result["analytics-model"]["value"] == ["Civic"]
