"""Shared fixtures: the app on a temporary SQLite file, users, and real services.

Redis and PostgreSQL tests need servers on 127.0.0.1. Without them those tests are
skipped with a reason that names the service, except under ``CI=true``, where a
missing service fails the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from dashboard import create_app
from models import db
from tests.support.factories import (
    CASES,
    DATA,
    FIXTURES,
    PASSWORD,
    POSTGRES_URL,
    REDIS_URL,
    ROOT,
    add_user,
    base_config,
    require_service,
    sign_in,
)

__all__ = [
    "CASES",
    "DATA",
    "FIXTURES",
    "PASSWORD",
    "ROOT",
    "add_user",
    "base_config",
    "sign_in",
]


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture
def app(tmp_path):
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'app.db'}"))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def postgres_schema(postgres_url) -> Iterator[str]:
    """A database URL whose connections use a fresh PostgreSQL schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    yield url
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_app(tmp_path, postgres_schema):
    app = create_app(base_config(tmp_path, postgres_schema))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a user and return its id: ``make_user("ana", role="admin")``."""

    def make(username: str, role: str = "analyst", password: str = PASSWORD) -> int:
        return add_user(app, username, role, password)

    return make


@pytest.fixture
def analyst_client(app, make_user):
    """A test client signed in as the analyst ``ana``."""
    make_user("ana")
    client = app.test_client()
    response = sign_in(client, "ana")
    assert response.status_code in (302, 303), response.data[:500]
    return client


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request):
    """The app on SQLite, then on PostgreSQL (skipped when PostgreSQL is down)."""
    if request.param == "sqlite":
        return request.getfixturevalue("app")
    return request.getfixturevalue("pg_app")
