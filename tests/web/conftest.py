"""Fixtures for the web tests: API tokens, seeded sales and tasks, CSRF-on apps."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.extensions import limiter
from models import (
    ApiToken,
    FetchTask,
    MonthlyModelRollup,
    MonthlyRollup,
    Sale,
    User,
    db,
)
from tests.conftest import base_config


def issue_token(app, username: str) -> str:
    """Store a new API token for ``username`` and return the plain token."""
    with app.app_context():
        user = User.find(username)
        row, token = ApiToken.issue(user)
        db.session.add(row)
        db.session.commit()
        return token


def csrf_token_from(page: str) -> str:
    """Return the CSRF token from a rendered form."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the form has no csrf_token field"
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_headers(app, make_user):
    """Return Bearer headers for a new user: ``auth_headers("bob", "viewer")``."""

    def make(username: str, role: str = "analyst") -> dict[str, str]:
        make_user(username, role=role)
        return bearer(issue_token(app, username))

    return make


def make_app(tmp_path, **overrides):
    """Build an app on its own SQLite file with some test settings changed."""
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def csrf_app(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def limited_app(tmp_path):
    """An app that allows 3 sign-in or token attempts per minute."""
    # The limiter is one object shared by every app, and binding an app sets its
    # enabled flag, so the flag is put back for the apps of later tests.
    was_enabled = limiter.enabled
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    limiter.enabled = was_enabled


@pytest.fixture
def live_url(app):
    """Serve ``app`` over real HTTP on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def user_id(app, username: str) -> int:
    with app.app_context():
        return User.find(username).id


def add_task(app, owner_id: int, status: str = "completed", name: str = "task") -> int:
    """Store a fetch task row directly, without queueing it."""
    with app.app_context():
        task = FetchTask(
            owner_id=owner_id,
            name=name,
            source_kind="csv",
            source_spec={"kind": "csv", "path": "/srv/data/sales.csv"},
            filters={},
            status=status,
            rows_read=10,
            rows_loaded=8,
            rows_rejected=2,
        )
        db.session.add(task)
        db.session.commit()
        return task.id


def seed_sales(app, owner_id: int, rows: list[tuple]) -> None:
    """Insert sales and their monthly rollups the way the loader keeps them.

    Each row is ``(company, car_model, "YYYY-MM-DD", "price", source_kind)``.
    Call it once per owner, because the rollup rows are inserted, not updated.
    """
    monthly: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0")])
    by_model: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0")])
    with app.app_context():
        start = db.session.execute(db.select(db.func.count(Sale.id))).scalar_one()
        for number, (company, model, day, price, kind) in enumerate(rows, start):
            sale_date = date.fromisoformat(day)
            month_key = sale_date.year * 100 + sale_date.month
            amount = Decimal(price)
            db.session.add(
                Sale(
                    owner_id=owner_id,
                    record_key=f"key{number:06d}",
                    company=company,
                    car_model=model,
                    sold_at=datetime(
                        sale_date.year, sale_date.month, sale_date.day, 12
                    ),
                    utc_offset_minutes=60,
                    sale_date=sale_date,
                    month_key=month_key,
                    price=amount,
                    currency="USD",
                    source_kind=kind,
                    source_name=f"sales.{kind}",
                )
            )
            for table, key in (
                (monthly, (month_key, company, kind)),
                (by_model, (month_key, company, model, kind)),
            ):
                table[key][0] += 1
                table[key][1] += amount
        for (month_key, company, kind), (count, revenue) in monthly.items():
            db.session.add(
                MonthlyRollup(
                    owner_id=owner_id,
                    month_key=month_key,
                    company=company,
                    source_kind=kind,
                    sales_count=count,
                    revenue=revenue,
                )
            )
        for (month_key, company, model, kind), (count, revenue) in by_model.items():
            db.session.add(
                MonthlyModelRollup(
                    owner_id=owner_id,
                    month_key=month_key,
                    company=company,
                    car_model=model,
                    source_kind=kind,
                    sales_count=count,
                    revenue=revenue,
                )
            )
        db.session.commit()
