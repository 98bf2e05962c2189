"""Database settings that depend on the engine in use."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets the dashboard read while a worker writes; the busy timeout makes a
    # writer wait for the other instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.close()


def init_database(app: Flask) -> None:
    """Attach per-connection settings to the engine, for SQLite only."""
    from models import db

    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_sqlite)
