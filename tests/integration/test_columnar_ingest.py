"""The columnar CSV path and the record path store the same data through the worker.

Each test loads a file once through each path, for two owners of the same
database, and compares what a user can see: the task's counters, progress,
warning and error, every stored sale, both rollups and the rejected rows.
"""

from __future__ import annotations

import logging

import pytest

from models import FetchTask, MonthlyModelRollup, MonthlyRollup, RejectedRow, Sale, db
from sources import columnar
from tests.sources.test_columnar import bad_rows_file
from tests.support.fetch import run_task
from workers import ingest

SALE_FIELDS = (
    "record_key",
    "source_record_id",
    "company",
    "car_model",
    "sold_at",
    "utc_offset_minutes",
    "sale_date",
    "month_key",
    "price",
    "currency",
    "source_kind",
    "source_name",
)
TASK_FIELDS = (
    "status",
    "rows_read",
    "rows_loaded",
    "rows_duplicate",
    "rows_filtered",
    "rows_rejected",
    "bytes_read",
    "bytes_total",
    "error",
    "warning",
)
VEHICLES = {
    "kind": "csv",
    "path": "data/real/vehicle_sales_sample.csv",
    "mapping": {
        "company": "make",
        "car_model": "model",
        "sale_date": "saledate",
        "price": "sellingprice",
    },
}


def snapshot(app, task_id: int) -> dict:
    """Return what the task stored, without ids that differ between owners."""
    with app.app_context():
        task = db.session.get(FetchTask, task_id)
        owner = task.owner_id
        sales = db.session.execute(
            db.select(*(getattr(Sale, name) for name in SALE_FIELDS))
            .where(Sale.owner_id == owner)
            .order_by(Sale.id)
        ).all()
        monthly = db.session.execute(
            db.select(
                MonthlyRollup.month_key,
                MonthlyRollup.company,
                MonthlyRollup.source_kind,
                MonthlyRollup.sales_count,
                MonthlyRollup.revenue,
            )
            .where(MonthlyRollup.owner_id == owner)
            .order_by(MonthlyRollup.month_key, MonthlyRollup.company)
        ).all()
        by_model = db.session.execute(
            db.select(
                MonthlyModelRollup.month_key,
                MonthlyModelRollup.company,
                MonthlyModelRollup.car_model,
                MonthlyModelRollup.sales_count,
                MonthlyModelRollup.revenue,
            )
            .where(MonthlyModelRollup.owner_id == owner)
            .order_by(
                MonthlyModelRollup.month_key,
                MonthlyModelRollup.company,
                MonthlyModelRollup.car_model,
            )
        ).all()
        rejected = db.session.execute(
            db.select(RejectedRow.line_no, RejectedRow.raw, RejectedRow.reason)
            .where(RejectedRow.task_id == task_id)
            .order_by(RejectedRow.id)
        ).all()
        return {
            "task": {name: getattr(task, name) for name in TASK_FIELDS},
            "sales": [tuple(row) for row in sales],
            "monthly": [tuple(row) for row in monthly],
            "by_model": [tuple(row) for row in by_model],
            "rejected": [tuple(row) for row in rejected],
        }


def run_on_record_path(app, monkeypatch, source, filters=None, owner="records"):
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "open_csv_columns", lambda *args, **kwargs: None)
        return run_task(app, source, filters, owner=owner)


def assert_paths_agree(app, monkeypatch, caplog, source, filters=None) -> dict:
    """Load ``source`` through both paths and check that they stored the same."""
    expected = snapshot(app, run_on_record_path(app, monkeypatch, source, filters))
    with caplog.at_level(logging.INFO, logger="workers.ingest"):
        found = snapshot(app, run_task(app, source, filters, owner="columns"))
    assert "in columns" in caplog.text

    assert found["task"] == expected["task"]
    assert found["rejected"] == expected["rejected"]
    assert found["sales"] == expected["sales"]
    assert found["monthly"] == expected["monthly"]
    assert found["by_model"] == expected["by_model"]
    return expected


@pytest.fixture
def generated(any_app, tmp_path, monkeypatch):
    """A 3,000-row file with bad rows, read in chunks of 4 KiB."""
    (tmp_path / "generated.csv").write_text(bad_rows_file())
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 4096)
    return {"kind": "csv", "path": "generated.csv"}


def test_generated_bad_rows_agree(any_app, monkeypatch, caplog, generated):
    expected = assert_paths_agree(any_app, monkeypatch, caplog, generated)

    assert expected["task"]["rows_rejected"] == 9
    assert expected["task"]["rows_loaded"] == 3000 + 6
    assert expected["task"]["warning"] == "Skipped 2 rows whose fields were all empty."


def test_filters_agree(any_app, monkeypatch, caplog, generated):
    filters = {
        "date_from": "2023-03-01",
        "date_to": "2023-10-31",
        "companies": ["kia", "Mercedes-Benz", "Toyota"],
        "models": ["CEED", "a-klasse", "Corolla"],
    }

    expected = assert_paths_agree(any_app, monkeypatch, caplog, generated, filters)

    task = expected["task"]
    assert 0 < task["rows_filtered"] < task["rows_read"]
    assert task["rows_loaded"] > 0


@pytest.mark.parametrize(
    "name",
    [
        "csv_duplicate_rows.csv",
        "csv_quoted_newline.csv",
        "csv_cp1252.csv",
        "csv_truncated_last_row.csv",
        "csv_bom_quoted_header.csv",
        "csv_whitespace_case.csv",
    ],
)
def test_case_files_agree(any_app, monkeypatch, caplog, name):
    assert_paths_agree(any_app, monkeypatch, caplog, {"kind": "csv", "path": name})


def test_real_vehicle_file_agrees(any_app, monkeypatch, caplog):
    expected = assert_paths_agree(any_app, monkeypatch, caplog, VEHICLES)

    assert any(sale[5] == -480 for sale in expected["sales"])
    assert expected["rejected"]


def test_refetch_on_other_path_finds_duplicates(any_app, monkeypatch, generated):
    first = snapshot(any_app, run_on_record_path(any_app, monkeypatch, generated))
    second = snapshot(any_app, run_task(any_app, generated, owner="records"))
    third = snapshot(
        any_app, run_on_record_path(any_app, monkeypatch, generated, owner="records")
    )

    loaded = first["task"]["rows_loaded"]
    assert second["task"]["rows_loaded"] == 0
    assert second["task"]["rows_duplicate"] == loaded + first["task"]["rows_duplicate"]
    assert third["task"] == second["task"]
    assert second["sales"] == first["sales"]
    assert second["monthly"] == first["monthly"]


def test_grown_file_loads_only_new_rows(any_app, monkeypatch, tmp_path):
    # The first load stores the first 1,000 data rows. Reloading the grown file
    # meets batches of stored rows, one batch of both, then new rows only.
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 4096)
    lines = bad_rows_file().splitlines(keepends=True)
    grown = tmp_path / "grown.csv"
    source = {"kind": "csv", "path": "grown.csv"}

    grown.write_text("".join(lines[:1001]))
    run_on_record_path(any_app, monkeypatch, source)
    run_task(any_app, source, owner="columns")
    grown.write_text("".join(lines))
    expected = snapshot(any_app, run_on_record_path(any_app, monkeypatch, source))
    found = snapshot(any_app, run_task(any_app, source, owner="columns"))

    assert found == expected
    assert expected["task"]["rows_duplicate"] == 1000
    assert expected["task"]["rows_loaded"] == 2006


def test_forced_utf8_fails_alike(any_app, monkeypatch, tmp_path):
    text = bad_rows_file().encode()
    position = text.index(b"S002500,")
    data = text[:position] + "S-ACC,Citroën,C4,2023-03-03,1\n".encode("cp1252")
    (tmp_path / "mixed.csv").write_bytes(data + text[position:])
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]
    source = {"kind": "csv", "path": "mixed.csv", "encoding": "utf-8"}

    expected = snapshot(any_app, run_on_record_path(any_app, monkeypatch, source))
    found = snapshot(any_app, run_task(any_app, source, owner="columns"))

    assert found["task"]["status"] == expected["task"]["status"] == "failed"
    assert found["task"]["error"] == expected["task"]["error"]
    assert "not valid UTF-8 at line 2514" in found["task"]["error"]
