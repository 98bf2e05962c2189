"""Fresh SQLite files and PostgreSQL schemas for benchmark runs, and the app on them.

Every run gets its own database: a new SQLite file in ``settings.runs_dir()`` or
a new schema in the PostgreSQL database ``test``, dropped when the run ends.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from psycopg import sql

from benchmarks.settings import (
    BENCH_PASSWORD,
    BENCH_USER,
    POSTGRES_URL,
    data_dir,
    runs_dir,
)

log = logging.getLogger(__name__)

KINDS = ("sqlite", "postgres")
LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass
class Database:
    """One benchmark database: a SQLite file or a PostgreSQL schema."""

    kind: str
    name: str
    url: str  # SQLAlchemy URL, which for PostgreSQL is also a libpq URI
    path: Path | None = None  # SQLite only
    schema: str | None = None  # PostgreSQL only

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def drop(self) -> None:
        """Delete the file or drop the schema with everything in it."""
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                statement = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                conn.execute(statement.format(sql.Identifier(self.schema)))
        log.info("dropped %s database %s", self.label, self.name)


def new_database(kind: str, purpose: str) -> Database:
    """Create an empty database of ``kind`` named after ``purpose``."""
    name = f"bench_{purpose}_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        runs_dir().mkdir(parents=True, exist_ok=True)
        path = runs_dir() / f"{name}.db"
        return Database(kind, name, f"sqlite:///{path}", path=path)
    if kind == "postgres":
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{name}"
        return Database(kind, name, url, schema=name)
    raise ValueError(f"unknown database kind {kind!r}; use sqlite or postgres")


@contextmanager
def temporary_database(kind: str, purpose: str) -> Iterator[Database]:
    """Yield a new database and drop it afterwards, also after an error."""
    database = new_database(kind, purpose)
    try:
        yield database
    finally:
        database.drop()


def app_config(database_url: str) -> dict[str, Any]:
    """Return the Flask config of the app that runs on ``database_url``."""
    runs_dir().mkdir(parents=True, exist_ok=True)
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATA_DIRS": [str(data_dir())],
        "BROKER_URL": f"sqla+sqlite:///{runs_dir() / 'broker.db'}",
        "UPLOAD_DIR": str(runs_dir() / "uploads"),
        "SECRET_KEY": secrets.token_hex(16),
        # The Flask test client signs in without a form token, and the refresh
        # runs sign in far more often than the login rate limit allows.
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        # The worker-path runs measure one process loading a file whole; the
        # parallel section sets its own number of parts.
        "PARALLEL_PARTS": 1,
    }


def app_environment(database_url: str) -> dict[str, str]:
    """Return ``os.environ`` plus the ``FORECOURT_*`` variables that point the
    app at ``database_url``, for processes that build it from the environment
    (a worker importing ``workers``, gunicorn importing ``wsgi``)."""
    runs_dir().mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "FORECOURT_DATABASE_URL": database_url,
        "FORECOURT_SECRET_KEY": secrets.token_hex(16),
        "FORECOURT_BROKER_URL": f"sqla+sqlite:///{runs_dir() / 'broker.db'}",
        "FORECOURT_DATA_DIRS": str(data_dir()),
        "FORECOURT_UPLOAD_DIR": str(runs_dir() / "uploads"),
        "FORECOURT_LOG_LEVEL": "WARNING",
        "FORECOURT_PARALLEL_PARTS": "1",
    }


def make_app(database_url: str, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Forecourt app on ``database_url``, with config ``overrides``."""
    from dashboard import create_app

    app = create_app({**app_config(database_url), **(overrides or {})})
    # create_app sets the root logger to the app's level (WARNING here), so set
    # the benchmark loggers back to INFO.
    logging.getLogger("benchmarks").setLevel(logging.INFO)
    return app


@contextmanager
def app_on(
    database: Database, overrides: dict[str, Any] | None = None
) -> Iterator[Flask]:
    """Yield the Forecourt app on ``database`` with its tables created."""
    from models import db

    app = make_app(database.url, overrides)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def ensure_owner(app: Flask) -> int:
    """Return the id of the benchmark user, creating the user when missing."""
    from models import User, db

    with app.app_context():
        user = User.find(BENCH_USER)
        if user is None:
            user = User(
                username=BENCH_USER,
                username_key=User.key_for(BENCH_USER),
                role="analyst",
            )
            user.set_password(BENCH_PASSWORD)
            db.session.add(user)
            db.session.commit()
        return user.id


def add_fetch_task(app: Flask, owner_id: int, source: dict[str, Any]) -> int:
    """Store a pending fetch task for ``source`` and return its id."""
    from models import FetchTask, db
    from sources.spec import parse_source_spec

    with app.app_context():
        spec = parse_source_spec(source, data_dirs=app.config["DATA_DIRS"])
        task = FetchTask(
            owner_id=owner_id,
            name=f"benchmark {spec.display_name}",
            source_kind=spec.kind,
            source_spec=spec.to_dict(),
            filters={},
        )
        db.session.add(task)
        db.session.commit()
        return task.id


class DatabasePool:
    """Databases loaded through the worker path and kept for later sections.

    The ingest section leaves its CSV database here, so the refresh and load
    sections reuse it instead of loading the same rows again.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], Database] = {}

    def get(self, kind: str, rows: int) -> Database | None:
        return self._kept.get((kind, rows))

    def keep(self, database: Database, rows: int) -> None:
        self._kept[(database.kind, rows)] = database

    def drop_all(self) -> None:
        for database in self._kept.values():
            try:
                database.drop()
            except (OSError, psycopg.Error) as exc:
                log.error("could not drop %s: %s", database.name, exc)
        self._kept.clear()
