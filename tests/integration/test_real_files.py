"""Real public sales files load through the worker path with only a column mapping.

Expected counts and revenue are computed here with pandas from the same files.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from sqlalchemy import func

from models import MonthlyRollup, RejectedRow, Sale, db
from tests.support.factories import DATA
from tests.support.fetch import run_task, totals

REPORT = DATA / "real" / "car_sales_report.csv"
VEHICLES = DATA / "real" / "vehicle_sales_sample.csv"


REPORT_SOURCE = {
    "kind": "csv",
    "path": "data/real/car_sales_report.csv",
    "mapping": {
        "company": "Company",
        "car_model": "Model",
        "sale_date": "Date",
        "price": "Price ($)",
    },
}
VEHICLE_SOURCE = {
    "kind": "csv",
    "path": "data/real/vehicle_sales_sample.csv",
    "mapping": {
        "company": "make",
        "car_model": "model",
        "sale_date": "saledate",
        "price": "sellingprice",
    },
}


def test_car_sales_report_loads_every_row(any_app):
    frame = pd.read_csv(REPORT, dtype=str)
    expected_revenue = Decimal(int(pd.to_numeric(frame["Price ($)"]).sum()))

    task_id = run_task(any_app, REPORT_SOURCE)
    task, count, revenue = totals(any_app, task_id)

    assert task.status == "completed", task.error
    assert task.rows_read == len(frame) == 23906
    assert task.rows_loaded == 23906
    assert task.rows_rejected == 0
    assert count == 23906
    assert revenue == expected_revenue


def test_car_sales_report_dates_are_month_first(any_app):
    frame = pd.read_csv(REPORT, dtype=str)
    months = pd.to_datetime(frame["Date"], format="%m/%d/%Y").dt.strftime("%Y%m")
    expected = months.astype(int).value_counts().sort_index()

    run_task(any_app, REPORT_SOURCE)
    with any_app.app_context():
        rows = db.session.execute(
            db.select(MonthlyRollup.month_key, func.sum(MonthlyRollup.sales_count))
            .group_by(MonthlyRollup.month_key)
            .order_by(MonthlyRollup.month_key)
        ).all()
    assert {month: int(n) for month, n in rows} == expected.to_dict()


def test_vehicle_sample_rejects_rows_without_make_or_model(any_app):
    frame = pd.read_csv(
        VEHICLES, dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    missing = (frame["make"].str.strip() == "") | (frame["model"].str.strip() == "")
    valid = frame[~missing]
    expected_revenue = Decimal(int(pd.to_numeric(valid["sellingprice"]).sum()))

    task_id = run_task(any_app, VEHICLE_SOURCE)
    task, count, revenue = totals(any_app, task_id)

    assert task.status == "completed", task.error
    assert task.rows_read == 9999
    assert missing.sum() == 26
    assert task.rows_rejected == 26
    assert task.rows_loaded == len(valid) == 9973
    assert task.rows_duplicate == 0
    assert count == 9973
    assert revenue == expected_revenue
    with any_app.app_context():
        reasons = db.session.execute(
            db.select(RejectedRow.reason).where(RejectedRow.task_id == task_id)
        ).scalars()
        for reason in reasons:
            assert (
                "make" in reason.lower()
                or "model" in reason.lower()
                or ("company" in reason.lower())
            ), reason


def test_vehicle_sample_keeps_local_sale_day(any_app):
    frame = pd.read_csv(
        VEHICLES, dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    frame = frame[
        (frame["make"].str.strip() != "") & (frame["model"].str.strip() != "")
    ]
    # "Tue Dec 16 2014 12:30:00 GMT-0800 (PST)": the local day is in characters 4-15.
    local_days = pd.to_datetime(frame["saledate"].str[4:15], format="%b %d %Y")
    expected = local_days.dt.strftime("%Y-%m-%d").value_counts().to_dict()

    task_id = run_task(any_app, VEHICLE_SOURCE)
    with any_app.app_context():
        rows = db.session.execute(
            db.select(Sale.sale_date, func.count())
            .where(Sale.task_id == task_id)
            .group_by(Sale.sale_date)
        ).all()
    assert {day.isoformat(): n for day, n in rows} == expected


def test_rerun_counts_duplicates_and_keeps_totals(any_app):
    first = run_task(any_app, VEHICLE_SOURCE)
    second = run_task(any_app, VEHICLE_SOURCE)
    first_task, first_count, first_revenue = totals(any_app, first)
    second_task, second_count, _ = totals(any_app, second)

    assert second_task.status == "completed"
    assert second_task.rows_loaded == 0
    assert second_task.rows_duplicate == 9973
    assert second_task.rows_rejected == 26
    assert second_count == 0
    with any_app.app_context():
        all_sales = db.session.scalar(db.select(func.count()).select_from(Sale))
        rolled = db.session.scalar(db.select(func.sum(MonthlyRollup.sales_count)))
        rolled_revenue = db.session.scalar(db.select(func.sum(MonthlyRollup.revenue)))
    assert all_sales == first_count == 9973
    assert rolled == 9973
    assert Decimal(rolled_revenue) == first_revenue


def test_sample_files_load_without_rejections(any_app):
    json_task = run_task(any_app, {"kind": "json", "path": "data/sample_data_a.json"})
    csv_task = run_task(any_app, {"kind": "csv", "path": "data/sample_data_b.csv"})
    for task_id, rows in ((json_task, 400), (csv_task, 350)):
        task, count, _ = totals(any_app, task_id)
        assert task.status == "completed", task.error
        assert task.rows_rejected == 0
        assert task.rows_loaded == rows
        assert count == rows


def test_sourcing_filters_count_filtered_rows(any_app):
    frame = pd.read_csv(REPORT, dtype=str)
    dates = pd.to_datetime(frame["Date"], format="%m/%d/%Y")
    keep = (
        (dates >= "2023-01-01")
        & (dates <= "2023-06-30")
        & frame["Company"].isin(["Ford", "Toyota"])
    )

    task_id = run_task(
        any_app,
        REPORT_SOURCE,
        {
            "date_from": "2023-01-01",
            "date_to": "2023-06-30",
            "companies": ["ford", "Toyota"],
        },
    )
    task, count, _ = totals(any_app, task_id)

    assert task.rows_loaded == int(keep.sum())
    assert task.rows_filtered == len(frame) - int(keep.sum())
    assert count == int(keep.sum())


def test_real_files_map_headers_without_mapping(app):
    report = run_task(app, {"kind": "csv", "path": "data/real/car_sales_report.csv"})
    vehicles = run_task(
        app, {"kind": "csv", "path": "data/real/vehicle_sales_sample.csv"}
    )
    report_task, report_count, _ = totals(app, report)
    vehicle_task, vehicle_count, _ = totals(app, vehicles)
    assert (report_task.status, report_count) == ("completed", 23906)
    assert (vehicle_task.status, vehicle_count) == ("completed", 9973)
    assert vehicle_task.rows_rejected == 26
