"""A large file loaded in parts equals the same file loaded whole."""

from __future__ import annotations

import csv
import io
import random

import pytest
from sqlalchemy import func

from models import FetchTask, FetchTaskPart, MonthlyModelRollup, RejectedRow, Sale, db
from tests.support import fetch
from tests.support.fetch import run_task, task_row
from workers import ingest


def messy_csv(rows: int) -> str:
    rng = random.Random(5)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "company", "car_model", "sale_date", "price", "notes"])
    for number in range(rows):
        price = f"{rng.randint(8000, 90000)}.{rng.randint(0, 99):02d}"
        note = "plain"
        if number % 97 == 0:
            note = 'two\nlines, "quoted"'
        if number % 211 == 0:
            price = "not a price"
        day = f"2023-{1 + number % 12:02d}-{1 + number % 28:02d}"
        company = rng.choice(["Kia", "Ford", "BMW", "Škoda"])
        writer.writerow([f"R{number}", company, f"M{number % 30}", day, price, note])
        if number % 150 == 0:
            # The same record again, later in the file: a duplicate.
            writer.writerow(
                [f"R{number}", company, f"M{number % 30}", day, price, note]
            )
    return out.getvalue()


def snapshot(app, task_id: int) -> dict:
    with app.app_context():
        task = db.session.get(FetchTask, task_id)
        sales = set(
            db.session.execute(
                db.select(
                    Sale.record_key,
                    Sale.company,
                    Sale.car_model,
                    Sale.sale_date,
                    Sale.price,
                )
            ).all()
        )
        rejected = sorted(
            db.session.execute(
                db.select(RejectedRow.line_no, RejectedRow.reason).where(
                    RejectedRow.task_id == task_id
                )
            ).all()
        )
        rollup = set(
            db.session.execute(
                db.select(
                    MonthlyModelRollup.month_key,
                    MonthlyModelRollup.company,
                    MonthlyModelRollup.car_model,
                    MonthlyModelRollup.sales_count,
                    MonthlyModelRollup.revenue,
                )
            ).all()
        )
        counters = (
            task.status,
            task.rows_read,
            task.rows_loaded,
            task.rows_duplicate,
            task.rows_rejected,
        )
    return {
        "sales": sales,
        "rejected": rejected,
        "rollup": rollup,
        "counters": counters,
    }


@pytest.fixture
def inline_parts(monkeypatch):
    """Run each part as soon as it is queued, in this process."""
    monkeypatch.setattr(
        ingest, "_send_part", lambda task_id, n: ingest.run_part(task_id, n)
    )


def test_parts_equal_whole_file(any_app, tmp_path, inline_parts):
    (tmp_path / "big.csv").write_text(messy_csv(3000))
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]
    any_app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")

    any_app.config["PARALLEL_PARTS"] = 1
    whole_id = run_task(any_app, {"kind": "csv", "path": "big.csv"}, owner="whole")
    whole = snapshot(any_app, whole_id)
    with any_app.app_context():
        db.session.execute(db.delete(Sale))
        db.session.execute(db.delete(MonthlyModelRollup))
        db.session.commit()

    any_app.config.update(PARALLEL_PARTS=4, PARALLEL_MIN_BYTES=1)
    parts_id = run_task(any_app, {"kind": "csv", "path": "big.csv"}, owner="whole")
    parts = snapshot(any_app, parts_id)

    assert task_row(any_app, parts_id).parts_total == 4
    assert whole["counters"][0] == "completed"
    assert parts["counters"] == whole["counters"]
    assert parts["sales"] == whole["sales"]
    assert parts["rejected"] == whole["rejected"]
    assert parts["rollup"] == whole["rollup"]
    assert not (tmp_path / "uploads" / "parts" / str(parts_id)).exists()


def test_failed_part_fails_task(app, tmp_path, inline_parts, monkeypatch):
    (tmp_path / "big.csv").write_text(messy_csv(800))
    app.config["DATA_DIRS"] = [*app.config["DATA_DIRS"], str(tmp_path)]
    app.config.update(
        UPLOAD_DIR=str(tmp_path / "uploads"), PARALLEL_PARTS=2, PARALLEL_MIN_BYTES=1
    )
    real_claim = ingest.claim_part

    def claim_and_break(task_id, number):
        part = real_claim(task_id, number)
        if part is not None and number == 1:
            part.source_spec = dict(part.source_spec, path=str(tmp_path / "gone.csv"))
        return part

    monkeypatch.setattr(ingest, "claim_part", claim_and_break)

    task = task_row(app, run_task(app, {"kind": "csv", "path": "big.csv"}))

    assert task.status == "failed"
    assert task.error.startswith("Part 2:")
    with app.app_context():
        statuses = dict(
            db.session.execute(
                db.select(FetchTaskPart.number, FetchTaskPart.status)
            ).all()
        )
        assert statuses == {0: "completed", 1: "failed"}
        assert db.session.scalar(db.select(func.count()).select_from(Sale)) > 0


def test_small_file_stays_whole(app, tmp_path):
    app.config.update(PARALLEL_PARTS=4)
    task = task_row(
        app, fetch.run_task(app, {"kind": "csv", "path": "data/sample_data_b.csv"})
    )
    assert task.parts_total == 0
    assert task.rows_loaded == 350
