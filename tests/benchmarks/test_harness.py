"""The benchmark sections on a few thousand rows, against real databases."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, func, select

from benchmarks import ingest, refresh
from benchmarks.dash_requests import (
    DEPENDENCIES_PATH,
    REFRESH_OUTPUT,
    CallbackNotFound,
    Filters,
    find_callback,
    update_body,
)
from benchmarks.databases import DatabasePool, app_on, temporary_database
from benchmarks.datasets import data_file
from benchmarks.derive import derive_database
from benchmarks.duck import run_duckdb
from models import MonthlyRollup, Sale

ROWS = 2000


def test_data_file_is_generated_once(bench_out):
    path = data_file(50, "csv")
    assert path.parent == bench_out / "data"
    assert len(path.read_text().splitlines()) == 51
    modified = path.stat().st_mtime_ns
    assert data_file(50, "csv").stat().st_mtime_ns == modified


def test_data_file_rejects_unknown_format():
    with pytest.raises(ValueError, match="unknown data format 'xml'"):
        data_file(10, "xml")


@pytest.mark.parametrize("data_format", ["csv", "ndjson"])
def test_worker_path_loads_every_row(data_format):
    with temporary_database("sqlite", "test") as database:
        run = ingest.worker_path(database, data_format, ROWS)
        loaded = ingest.count_rows(database, "sales")
    assert run.error is None
    assert loaded == ROWS
    assert run.rate > 0
    assert run.peak_mb >= run.ready_mb > 20


def test_worker_path_reports_a_failed_task(bench_out):
    with temporary_database("sqlite", "test") as database:
        path = data_file(ROWS, "csv")
        # Same name, but not CSV: the fetch fails, and the run reports the failure.
        shutil.copy(path, path.with_suffix(".keep"))
        path.write_bytes(b"\x00\x01 not a csv file")
        try:
            run = ingest.worker_path(database, "csv", ROWS)
        finally:
            shutil.move(path.with_suffix(".keep"), path)
    assert run.error is not None
    assert run.error.startswith("task failed") or "loaded 0" in run.error


def test_sqlite_baselines_load_every_row():
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed")
    imported = ingest.sqlite_import(ROWS)
    pandas_run = ingest.pandas_to_sql("sqlite", ROWS)
    assert imported.error is None
    assert pandas_run.error is None
    assert imported.rate > 0
    assert pandas_run.peak_mb > 0


@pytest.mark.postgres
def test_postgres_copy_loads_every_row(postgres_url):
    run = ingest.postgres_copy(ROWS)
    assert run.error is None
    assert run.rate > 0


def test_update_body_drives_the_refresh_callback():
    with temporary_database("sqlite", "test") as database:
        with app_on(database) as app:
            refresh.ensure_owner(app)
            client = refresh._signed_in_client(app)
            callback = find_callback(
                client.get(DEPENDENCIES_PATH).get_json(), REFRESH_OUTPUT
            )
            filters = Filters(year=(2023,), company=("Toyota",))
            response = client.post(
                "/_dash-update-component", json=update_body(callback, filters, "year")
            )
    assert response.status_code == 200
    payload = response.get_json()["response"]
    assert "analytics-total-sales" in payload
    assert "analytics-heatmap" in payload


def test_find_callback_names_the_missing_output():
    with pytest.raises(CallbackNotFound, match="'nowhere.children'"):
        find_callback(
            [{"output": "a.children", "inputs": [], "state": []}], "nowhere.children"
        )


def _totals(database) -> tuple[int, int]:
    engine = create_engine(database.url)
    with engine.connect() as conn:
        sales = conn.execute(select(func.count()).select_from(Sale)).scalar()
        counted = conn.execute(select(func.sum(MonthlyRollup.sales_count))).scalar()
    engine.dispose()
    return sales, counted


def test_derived_database_and_refresh_measure():
    pool = DatabasePool()
    try:
        small = refresh.loaded_database("sqlite", ROWS, pool)
        large = derive_database(small, 3)
        pool.keep(large, ROWS * 3)

        assert _totals(small) == (ROWS, ROWS)
        assert _totals(large) == (ROWS * 3, ROWS * 3)

        results = refresh.measure(large, ROWS * 3, reps=3)
        duck = run_duckdb(small, ROWS, 3, reps=3)
    finally:
        pool.drop_all()

    assert [r.case for r in results] == [case.name for case in refresh.CASES]
    for result in results:
        assert len(result.uncached.queries) == 3
        assert len(result.uncached.dash) == 3
        assert len(result.cached.queries) == 3
        assert len(result.cached.dash) == 3
        assert result.refresh_bytes > 1000
    assert results[1].options_bytes > 0
    assert [d.sales for d in duck] == [ROWS, ROWS, ROWS * 3, ROWS * 3]
