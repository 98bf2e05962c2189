"""Fetch tasks over hostile files end to end, on SQLite and PostgreSQL.

Each file here once crashed a task with an internal error, or failed to store
its rows in PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

from models import FetchTask, Sale, db
from sources.spec import SourceSpec
from tests.support.factories import add_user
from tests.support.fetch import rejections, task_row
from workers.ingest import run_fetch

SALE = {"company": "Kia", "car_model": "Rio", "sale_date": "2023-01-01", "price": 9}


def run_file(app, path: Path, kind: str, **options) -> int:
    """Store a task that reads ``path``, run it in this process, return its id."""
    spec = SourceSpec(kind=kind, path=str(path), **options)
    with app.app_context():
        task = FetchTask(
            owner_id=add_user(app, f"ana{path.stem}"),
            name="hostile file",
            source_kind=kind,
            source_spec=spec.to_dict(),
            filters={},
        )
        db.session.add(task)
        db.session.commit()
        task_id = task.id
        run_fetch(task_id)
        db.session.remove()
    return task_id


def sale_names(app, task_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Sale.company, Sale.car_model)
            .where(Sale.task_id == task_id)
            .order_by(Sale.id)
        ).all()
    return [tuple(row) for row in rows]


def test_csv_names_with_nul_loaded(any_app, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_text(
        "company,car_model,sale_date,price\n"
        "Kia\x00,Rio\x00 5-door,2023-01-01,9000\n"
        "\x00Honda,Ci\x1bvic,2023-01-02,8000\n"
        "Kia\x00,Rio,2023-01-03,not a price\n"
    )

    task_id = run_file(any_app, path, "csv")

    task = task_row(any_app, task_id)
    assert task.status == "completed", task.error
    assert sale_names(any_app, task_id) == [("Kia", "Rio 5-door"), ("Honda", "Civic")]
    [(line_no, reason, raw)] = rejections(any_app, task_id)
    assert line_no == 4
    assert reason.startswith("price 'not a price'")
    assert raw == "Kia\\x00,Rio,2023-01-03,not a price"


def test_ndjson_escaped_nul_and_surrogate_loaded(any_app, tmp_path):
    path = tmp_path / "escapes.ndjson"
    lines = [
        {**SALE, "company": "Kia\u0000", "car_model": "Rio\ud800"},
        {**SALE, "company": "Kia", "car_model": "Ceed", "note": "\udfff"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    task_id = run_file(any_app, path, "json")

    task = task_row(any_app, task_id)
    assert task.status == "completed", task.error
    assert sale_names(any_app, task_id) == [("Kia", "Rio"), ("Kia", "Ceed")]


def test_json_long_number_fails_with_message(any_app, tmp_path):
    path = tmp_path / "long.json"
    long_sale = json.dumps(SALE).replace("9}", "9" * 5000 + "}")
    path.write_text(f"[\n{json.dumps(SALE)},\n{long_sale}\n]\n")

    task = task_row(any_app, run_file(any_app, path, "json"))

    assert task.status == "failed"
    assert task.error == (
        "long.json: a number on line 3 has more than 4,300 digits. Quote it as a "
        "string or fix the file."
    )


def test_json_deep_nesting_fails_with_message(any_app, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[\n" + "[" * 200_000 + "]" * 200_000 + "\n]")

    task = task_row(any_app, run_file(any_app, path, "json"))

    assert task.status == "failed"
    assert task.error.startswith(
        "deep.json: lists and objects are nested deeper than 200 levels at line 2."
    )


def test_ndjson_bad_lines_rejected_task_completes(any_app, tmp_path):
    path = tmp_path / "mixed.ndjson"
    deep = "[" * 200_000 + "]" * 200_000
    lines = [
        json.dumps(SALE),
        json.dumps(SALE).replace("9}", "9" * 5000 + "}"),
        json.dumps(SALE).replace("9}", f'9, "extra": {deep}}}'),
        json.dumps({**SALE, "car_model": "Ceed", "vin": 2**90}),
    ]
    path.write_text("\n".join(lines) + "\n")

    task_id = run_file(any_app, path, "json")

    task = task_row(any_app, task_id)
    assert task.status == "completed", task.error
    assert sale_names(any_app, task_id) == [("Kia", "Rio"), ("Kia", "Ceed")]
    reasons = [(line_no, reason) for line_no, reason, _ in rejections(any_app, task_id)]
    assert reasons == [
        (2, "a number has more than 4,300 digits"),
        (3, "lists and objects are nested deeper than 200 levels"),
    ]


def test_csv_wide_header_fails_with_message(any_app, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("company,car_model,sale_date,price" + ",x" * 1_000_000 + "\n")

    task = task_row(any_app, run_file(any_app, path, "csv"))

    assert task.status == "failed"
    assert task.error.startswith(
        "wide.csv: the header row has 1,000,004 columns, more than the limit of 10,000."
    )


def test_csv_repeated_columns_one_short_warning(any_app, tmp_path):
    path = tmp_path / "repeats.csv"
    header = "company,car_model,sale_date,price" + ",x" * 9000
    path.write_text(f"{header}\nKia,Rio,2023-01-01,9000{',1' * 9000}\n")

    task = task_row(any_app, run_file(any_app, path, "csv"))

    assert task.status == "completed", task.error
    assert task.rows_loaded == 1
    assert task.warning.startswith("8,999 columns repeat names ('x'), so ")
    assert len(task.warning) < 300
