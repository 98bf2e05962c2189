"""Messy inputs from the field, run through the worker path into a real database.

Each test states the behaviour: counts, rejected lines and reasons, the error a
failed task shows, and what the rollups hold afterwards.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func

from dashboard import analytics
from models import MonthlyModelRollup, Sale, db
from tests.support import fetch
from tests.support.factories import CASES, DATA
from tests.support.fetch import rejections, run_task, task_row, totals
from tests.support.httpserver import http_server, json_reply, text_reply  # noqa: F401


def case(name: str) -> dict:
    kind = "json" if name.endswith(".json") else "csv"
    return {"kind": kind, "path": f"cases/{name}"}


def test_duplicate_rows_then_refetch(any_app):
    first = run_task(any_app, case("csv_duplicate_rows.csv"))
    second = run_task(any_app, case("csv_duplicate_rows.csv"))

    run1 = task_row(any_app, first)
    assert (run1.rows_loaded, run1.rows_duplicate) == (3, 1)
    run2 = task_row(any_app, second)
    assert (run2.rows_loaded, run2.rows_duplicate) == (0, 4)
    with any_app.app_context():
        rollup = db.session.execute(
            db.select(MonthlyModelRollup).where(
                MonthlyModelRollup.month_key == 202312,
                MonthlyModelRollup.company == "Lexus",
                MonthlyModelRollup.car_model == "RX",
            )
        ).scalar_one()
        assert rollup.sales_count == 2
        assert rollup.revenue == Decimal("104000.00")


def test_repeat_after_many_numeric_ids_is_duplicate(any_app, tmp_path):
    # Readers that guess column types per chunk read "17" as a number in one
    # chunk and as text in another, and miss the repeat.
    target = tmp_path / "many_ids.csv"
    with open(target, "w", newline="") as out:
        out.write("id,company,car_model,sale_date,price\n")
        for number in range(1, 40001):
            out.write(f"{number},Kia,Ceed,2023-05-01,{20000 + number % 500}\n")
        out.write("A-1,Kia,Ceed,2023-05-02,21000\n")
        out.write("17,Kia,Ceed,2023-05-01,20017\n")
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]

    task_id = run_task(any_app, {"kind": "csv", "path": "many_ids.csv"})

    task = task_row(any_app, task_id)
    assert task.rows_loaded == 40001
    assert task.rows_duplicate == 1


def test_truncated_json_fails_with_position(any_app):
    task, count, _ = totals(
        any_app, run_task(any_app, case("json_truncated_footer.json"))
    )

    assert task.status == "failed"
    assert "invalid JSON at line 4, column 1" in task.error
    assert "JSONDecodeError" not in task.error
    assert count == 0
    assert task.rows_loaded == 0


def test_top_level_object_needs_records_path(any_app):
    failed = task_row(any_app, run_task(any_app, case("json_top_level_object.json")))
    assert failed.status == "failed"
    assert "top-level JSON is an object; set the records path" in failed.error
    assert "data.sales" in failed.error

    source = {**case("json_top_level_object.json"), "records_path": "data.sales"}
    loaded, count, revenue = totals(any_app, run_task(any_app, source))
    assert loaded.status == "completed"
    assert count == 2
    assert revenue == Decimal("28000.00") + Decimal("26500.50")


def test_truncated_last_csv_row_is_rejected(any_app):
    task_id = run_task(any_app, case("csv_truncated_last_row.csv"))
    task = task_row(any_app, task_id)

    assert task.status == "completed"
    assert task.rows_loaded == 2
    assert task.rows_rejected == 1
    [(line, reason, raw)] = rejections(any_app, task_id)
    assert line == 4
    assert "3 fields, expected 5" in reason
    assert raw == "3,Dacia,Jog"


def test_forced_utf8_on_cp1252_fails_readably(any_app):
    source = {**case("csv_cp1252.csv"), "encoding": "utf-8"}
    task, count, _ = totals(any_app, run_task(any_app, source))

    assert task.status == "failed"
    assert "not valid UTF-8 at line 2 (byte 0xEB)" in task.error
    assert "cp1252" in task.error
    assert count == 0


def test_cp1252_auto_keeps_accents(any_app):
    task_id = run_task(any_app, case("csv_cp1252.csv"))
    with any_app.app_context():
        companies = set(
            db.session.scalars(db.select(Sale.company).where(Sale.task_id == task_id))
        )
        models = set(
            db.session.scalars(db.select(Sale.car_model).where(Sale.task_id == task_id))
        )
    assert companies == {"Citroën", "Škoda", "Renault", "Mercedes-Benz"}
    assert "Mégane" in models


def test_big_json_numbers_stay_exact(any_app):
    task_id = run_task(any_app, case("json_big_numbers.json"))
    task = task_row(any_app, task_id)

    assert (task.rows_loaded, task.rows_duplicate, task.rows_rejected) == (2, 1, 1)
    with any_app.app_context():
        rows = dict(
            db.session.execute(
                db.select(Sale.source_record_id, Sale.price).where(
                    Sale.task_id == task_id
                )
            ).all()
        )
    assert rows == {
        "9007199254740993": Decimal("36990.10"),
        "9007199254740992": Decimal("100000.00"),
    }
    [(_, reason, _)] = rejections(any_app, task_id)
    assert "price out of range" in reason


def test_whitespace_and_case_merge_companies(any_app):
    run_task(any_app, case("csv_whitespace_case.csv"))
    with any_app.app_context():
        result = analytics.summary(analytics.SalesQuery())
    by_company = {row["company"]: row["sales"] for row in result["by_company"]}
    assert by_company == {"Mercedes-Benz": 3, "BMW": 2, "Toyota": 1}


def test_formula_cells_stored_verbatim_and_escaped_on_export(any_app):
    task_id = run_task(any_app, case("csv_formula_injection.csv"))
    assert task_row(any_app, task_id).rows_loaded == 6
    with any_app.app_context():
        stored = set(db.session.scalars(db.select(Sale.company))) | set(
            db.session.scalars(db.select(Sale.car_model))
        )
        exported = list(analytics.export_rows(analytics.SalesQuery()))
    assert {"=1+2", "@SUM(1;2)", "+Opel", "-Rio", "Rio"} <= stored
    text = io.StringIO()
    csv.writer(text).writerows(exported)
    parsed = list(csv.reader(io.StringIO(text.getvalue())))
    cells = {cell for row in parsed[1:] for cell in row}
    assert {"'=1+2", "'@SUM(1;2)", "'+Opel", "'-Rio"} <= cells
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)
    assert "10000.00" in cells
    assert len(parsed) == 7


def test_cursor_loop_stops_with_warning(any_app, http_server):  # noqa: F811
    page1 = (CASES / "api_cursor_loop_page1.json").read_bytes()
    page2 = (CASES / "api_cursor_loop_page2.json").read_bytes()

    def feed(request):
        body = page2 if request.query.get("cursor") == "c2" else page1
        return 200, {"Content-Type": "application/json"}, body

    http_server.routes["/feed"] = feed
    source = {
        "kind": "api",
        "url": http_server.url("/feed"),
        "records_path": "data",
        "pagination": {
            "style": "cursor",
            "cursor_param": "cursor",
            "cursor_path": "next_cursor",
        },
    }
    first = task_row(any_app, run_task(any_app, source))
    assert len(http_server.requests) == 2
    assert first.status == "completed"
    assert first.rows_loaded == 3
    assert "pagination cursor 'c2' repeated" in first.warning

    second = task_row(any_app, run_task(any_app, source))
    assert (second.rows_loaded, second.rows_duplicate) == (0, 3)


@pytest.mark.parametrize("status", [502, 200])
def test_html_error_page_fails_readably(any_app, http_server, status):  # noqa: F811
    body = (CASES / "api_502_body.html").read_bytes()
    http_server.routes["/feed"] = text_reply(
        body, status=status, content_type="text/html"
    )
    any_app.config["HTTP_BACKOFF"] = 0.01

    task = task_row(
        any_app, run_task(any_app, {"kind": "api", "url": http_server.url("/feed")})
    )

    assert task.status == "failed"
    assert "JSONDecodeError" not in task.error
    assert "Expecting value" not in task.error
    if status == 502:
        assert len(http_server.requests) == 1 + any_app.config["HTTP_RETRIES"]
        assert task.error.startswith("HTTP 502 from 127.0.0.1")
        assert "(text/html, 162 bytes)" in task.error
        assert "Upstream unavailable" in task.error
    else:
        assert len(http_server.requests) == 1
        assert "expected JSON, got text/html" in task.error


def test_missing_stored_file_fails_task(any_app, tmp_path, monkeypatch):
    target = tmp_path / "soon_gone.csv"
    target.write_text("company,car_model,sale_date,price\nKia,Rio,2023-01-01,100\n")
    any_app.config["DATA_DIRS"] = [*any_app.config["DATA_DIRS"], str(tmp_path)]
    original = fetch.run_fetch

    def remove_then_run(task_id):
        # The file passed validation, then went away before the worker read it.
        target.unlink()
        return original(task_id)

    monkeypatch.setattr(fetch, "run_fetch", remove_then_run)
    task_id = run_task(any_app, {"kind": "csv", "path": "soon_gone.csv"})

    task = task_row(any_app, task_id)
    assert task.status == "failed"
    assert "soon_gone.csv" in task.error
    with any_app.app_context():
        assert db.session.scalar(db.select(func.count()).select_from(Sale)) == 0


def test_day_first_file_reads_every_date_day_first(app, tmp_path):
    (tmp_path / "dmy.csv").write_text(
        "id,company,car_model,sale_date,price\n"
        "1,Kia,Rio,01/03/2024,100\n"
        "2,Kia,Rio,12/03/2024,100\n"
        "3,Kia,Rio,15/02/2024,100\n"
    )
    app.config["DATA_DIRS"] = [*app.config["DATA_DIRS"], str(tmp_path)]

    task_id = run_task(app, {"kind": "csv", "path": "dmy.csv"})

    task = task_row(app, task_id)
    assert (task.rows_loaded, task.rows_rejected) == (3, 0)
    assert "day first" in task.warning
    with app.app_context():
        days = dict(
            db.session.execute(
                db.select(Sale.source_record_id, Sale.sale_date).where(
                    Sale.task_id == task_id
                )
            ).all()
        )
    assert {key: day.isoformat() for key, day in days.items()} == {
        "1": "2024-03-01",
        "2": "2024-03-12",
        "3": "2024-02-15",
    }


def test_all_rows_rejected_completes_with_warning(app, tmp_path):
    (tmp_path / "bad.csv").write_text(
        "company,car_model,sale_date,price\nKia,Rio,2023-01-01,-5\nKia,,2023-01-02,9\n"
    )
    app.config["DATA_DIRS"] = [*app.config["DATA_DIRS"], str(tmp_path)]

    task = task_row(app, run_task(app, {"kind": "csv", "path": "bad.csv"}))

    assert task.status == "completed"
    assert task.rows_rejected == 2
    assert "all 2 rows were rejected" in task.warning


def test_upload_and_stored_copy_share_record_keys(app, tmp_path):
    from models import Upload

    run_task(app, {"kind": "csv", "path": "data/sample_data_b.csv"})
    copy = tmp_path / "stored-upload.csv"
    copy.write_bytes((DATA / "sample_data_b.csv").read_bytes())
    with app.app_context():
        owner_id = db.session.scalar(db.select(Sale.owner_id))
        db.session.add(
            Upload(
                id="u1",
                owner_id=owner_id,
                filename="sample_data_b.csv",
                stored_path=str(copy),
                size=copy.stat().st_size,
                sha256="0" * 64,
            )
        )
        db.session.commit()

    task = task_row(app, run_task(app, {"kind": "csv", "upload_id": "u1"}))

    assert (task.rows_loaded, task.rows_duplicate) == (0, 350)


def test_error_body_echoing_header_is_masked(app, http_server):  # noqa: F811
    def echo(request):
        body = f"denied for {request.headers.get('Authorization')}"
        return 401, {"Content-Type": "text/plain"}, body

    http_server.routes["/feed"] = echo
    source = {
        "kind": "api",
        "url": http_server.url("/feed"),
        "headers": {"Authorization": "Bearer sekret-token-123456"},
    }

    task = task_row(app, run_task(app, source))

    assert task.status == "failed"
    assert "401" in task.error
    assert "sekret-token-123456" not in task.error
