"""Helpers shared by the test modules: paths, service checks, users, sign-in."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from models import User, db

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
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
        # Tests that seed rollup rows directly do not raise the data version, so
        # the dashboard cache is off unless a test turns it on.
        "CACHE_TYPE": "NullCache",
    }


def add_user(
    app, username: str, role: str = "analyst", password: str = PASSWORD
) -> int:
    with app.app_context():
        user = User(username=username, username_key=User.key_for(username), role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form."""
    return client.post("/login", data={"username": username, "password": password})
