"""Fixtures for the dashboard tests: seeded sales and tasks, signed-in clients and
a helper that calls Dash callbacks the way the browser does."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from models import FetchTask, MonthlyModelRollup, MonthlyRollup, Sale, User, db

# (company, car_model, sale date, price, source kind, source record id)
SaleRow = tuple[str, str, str, str, str, str | None]


def quick_user(app, username: str, role: str = "analyst") -> int:
    """Store a user without a usable password and return its id.

    Hashing a password with scrypt takes about 0.1 s, and these tests sign in
    through the session cookie instead.
    """
    with app.app_context():
        user = User(
            username=username,
            username_key=User.key_for(username),
            role=role,
            password_hash="!",
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def seed_sales(app, owner_id: int, rows: list[SaleRow]) -> None:
    """Insert sales and add them to both monthly rollups, as the loader does."""
    monthly: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0")])
    by_model: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0")])
    with app.app_context():
        first = db.session.execute(db.select(db.func.count(Sale.id))).scalar_one()
        for number, (company, model, day, price, kind, record_id) in enumerate(
            rows, start=first
        ):
            sale_date = date.fromisoformat(day)
            month_key = sale_date.year * 100 + sale_date.month
            amount = Decimal(price)
            db.session.add(
                Sale(
                    owner_id=owner_id,
                    record_key=f"key{number:08d}",
                    source_record_id=record_id,
                    company=company,
                    car_model=model,
                    sold_at=datetime(sale_date.year, sale_date.month, sale_date.day, 9),
                    utc_offset_minutes=-480,
                    sale_date=sale_date,
                    month_key=month_key,
                    price=amount,
                    currency="USD",
                    source_kind=kind,
                    source_name=f"sales.{kind}",
                )
            )
            monthly[(month_key, company, kind)][0] += 1
            monthly[(month_key, company, kind)][1] += amount
            by_model[(month_key, company, model, kind)][0] += 1
            by_model[(month_key, company, model, kind)][1] += amount
        _add_rollups(owner_id, monthly, by_model)
        db.session.commit()


def _add_rollups(owner_id: int, monthly: dict, by_model: dict) -> None:
    """Add counts to the rollup rows, creating the rows that do not exist yet."""
    for (month_key, company, kind), (count, revenue) in monthly.items():
        key = (owner_id, month_key, company, kind)
        row = db.session.get(MonthlyRollup, key) or MonthlyRollup(
            owner_id=owner_id,
            month_key=month_key,
            company=company,
            source_kind=kind,
            sales_count=0,
            revenue=Decimal("0"),
        )
        row.sales_count += count
        row.revenue = Decimal(row.revenue) + revenue
        db.session.add(row)
    for (month_key, company, model, kind), (count, revenue) in by_model.items():
        key = (owner_id, month_key, company, model, kind)
        row = db.session.get(MonthlyModelRollup, key) or MonthlyModelRollup(
            owner_id=owner_id,
            month_key=month_key,
            company=company,
            car_model=model,
            source_kind=kind,
            sales_count=0,
            revenue=Decimal("0"),
        )
        row.sales_count += count
        row.revenue = Decimal(row.revenue) + revenue
        db.session.add(row)


def add_task(app, owner_id: int, **fields: Any) -> int:
    """Store a fetch task row directly, without queueing it, and return its id."""
    values: dict[str, Any] = {
        "name": "Dealer export",
        "source_kind": "csv",
        "source_spec": {"kind": "csv", "path": "/srv/data/dealer_export.csv"},
        "filters": {},
        "status": "completed",
        "rows_read": 10,
        "rows_loaded": 8,
        "rows_rejected": 2,
    }
    values.update(fields)
    with app.app_context():
        task = FetchTask(owner_id=owner_id, **values)
        db.session.add(task)
        db.session.commit()
        return task.id


def signed_in_client(app, user_id: int):
    """Return a test client whose session belongs to ``user_id``."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:0"
        session["_fresh"] = True
    return client


def _split_outputs(output: str) -> list[dict[str, Any]]:
    """Turn Dash's output key ("..a.b...c.d.." or "a.b") into its output list."""
    if output.startswith(".."):
        parts = output[2:-2].split("...")
    else:
        parts = [output]
    outputs = []
    for part in parts:
        component, prop = part.rsplit(".", 1)
        if component.startswith("{"):
            component = json.loads(component)
        outputs.append({"id": component, "property": prop.split("@")[0]})
    return outputs


def _value_list(items: list[dict], values: dict) -> list:
    listed = []
    for item in items:
        component = item["id"]
        key = (component, item["property"])
        if component.startswith("{"):
            # A pattern-matching input: the caller gives the matched components.
            listed.append(values.get(key, []))
        else:
            listed.append(
                {
                    "id": component,
                    "property": item["property"],
                    "value": values.get(key),
                }
            )
    return listed


def call_dash(
    client,
    output_id: str,
    inputs: dict[tuple[str, str], Any] | None = None,
    state: dict[tuple[str, str], Any] | None = None,
    triggered: list[str] | None = None,
):
    """POST to ``/_dash-update-component`` for the callback that outputs to
    ``output_id``, as the browser would, and return the response.

    ``inputs`` and ``state`` map (component id, property) to a value; a
    pattern-matching input takes a list of {"id", "property", "value"} dicts.
    ``triggered`` lists the "id.property" strings that changed.
    """
    dependencies = client.get("/_dash-dependencies").get_json()
    matches = [
        dep
        for dep in dependencies
        if any(out["id"] == output_id for out in _split_outputs(dep["output"]))
        and "@" not in dep["output"]
    ]
    assert matches, f"no callback outputs to {output_id!r}"
    dependency = matches[0]
    body = {
        "output": dependency["output"],
        "outputs": _split_outputs(dependency["output"]),
        "inputs": _value_list(dependency["inputs"], inputs or {}),
        "state": _value_list(dependency["state"], state or {}),
        "changedPropIds": triggered or [],
    }
    if len(body["outputs"]) == 1 and not dependency["output"].startswith(".."):
        body["outputs"] = body["outputs"][0]
    return client.post("/_dash-update-component", json=body)


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request):
    """The app on SQLite, then on PostgreSQL (skipped when PostgreSQL is down)."""
    name = "app" if request.param == "sqlite" else "pg_app"
    return request.getfixturevalue(name)
