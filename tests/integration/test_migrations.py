"""``flask --app wsgi db upgrade`` builds the schema the models describe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.factories import ROOT


def flask_db(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORECOURT_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_upgrade(database_url: str) -> None:
    upgraded = flask_db(database_url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    # A second upgrade finds nothing to do.
    again = flask_db(database_url, "upgrade")
    assert again.returncode == 0, again.stderr
    # ``db check`` fails when the models and the migrated schema differ.
    checked = flask_db(database_url, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_upgrade_sqlite_matches_models(tmp_path):
    check_upgrade(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_upgrade_postgres_matches_models(postgres_schema):
    check_upgrade(postgres_schema)
