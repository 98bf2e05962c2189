"""Shared fixtures: the app on a temporary SQLite file, users, and real services.

Redis and PostgreSQL tests need servers on 127.0.0.1. Without them those tests are
skipped with a reason that names the service, except under ``CI=true``, where a
missing service fails the run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dashboard import create_app
from models import User, db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASES = FIXTURES / "cases"
DATA = ROOT / "data"

REDIS_URL = os.environ.get("FORECOURT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "FORECOURT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when a service is down, or fail it under CI."""
    if port_open(host, port):
        return
    message = f"{name} is not listening on {host}:{port}"
    if UNDER_CI:
        pytest.fail(f"{message}; CI must start it before the tests")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


def base_config(tmp_path: Path, database_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "DATA_DIRS": [str(DATA), str(CASES)],
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret",
    }


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


def add_user(app, username: str, role: str = "analyst", password: str = PASSWORD) -> int:
    with app.app_context():
        user = User(username=username, username_key=User.key_for(username), role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def make_user(app):
    """Create a user and return its id: ``make_user("ana", role="admin")``."""

    def make(username: str, role: str = "analyst", password: str = PASSWORD) -> int:
        return add_user(app, username, role, password)

    return make


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form."""
    return client.post(
        "/login", data={"username": username, "password": password}
    )


@pytest.fixture
def analyst_client(app, make_user):
    """A test client signed in as the analyst ``ana``."""
    make_user("ana")
    client = app.test_client()
    response = sign_in(client, "ana")
    assert response.status_code in (302, 303), response.data[:500]
    return client
