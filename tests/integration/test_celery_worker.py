"""A real Celery worker runs fetch tasks from a real broker into a real database."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import redis
from sqlalchemy import func

from dashboard import create_app
from dashboard.tasks_service import create_task
from models import FetchTask, MonthlyRollup, Sale, User, db
from tests.support.factories import add_user, base_config
from tests.support.worker import celery_worker

REPORT = "data/real/car_sales_report.csv"
REPORT_ROWS = 23906


def watch_statuses(app, task_id: int, timeout: float = 120.0) -> list[str]:
    """Poll the task row and return the distinct statuses seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.expire_all()
            status = db.session.get(FetchTask, task_id).status
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("completed", "failed"):
                return seen
            time.sleep(0.02)
    raise AssertionError(f"task {task_id} still {seen[-1]} after {timeout} s: {seen}")


def run_through_worker(
    tmp_path, database_url: str, broker_url: str, extra_env: dict | None = None
):
    config = base_config(tmp_path, database_url)
    config["BROKER_URL"] = broker_url
    config["INGEST_BATCH_SIZE"] = 2000
    app = create_app(config)
    with app.app_context():
        db.create_all()
    user_id = add_user(app, "worker-test")
    env = {
        "FORECOURT_DATABASE_URL": database_url,
        "FORECOURT_BROKER_URL": broker_url,
        "FORECOURT_INGEST_BATCH_SIZE": "2000",
        "FORECOURT_DATA_DIRS": ",".join(config["DATA_DIRS"]),
        "FORECOURT_UPLOAD_DIR": config["UPLOAD_DIR"],
        **(extra_env or {}),
    }
    with celery_worker(env, tmp_path / "worker.log"):
        with app.app_context():
            user = db.session.get(User, user_id)
            task = create_task(
                user,
                "car sales report",
                {
                    "kind": "csv",
                    "path": REPORT,
                    "mapping": {
                        "company": "Company",
                        "car_model": "Model",
                        "sale_date": "Date",
                        "price": "Price ($)",
                    },
                },
                None,
            )
            task_id = task.id
            assert task.status == "pending"
        statuses = watch_statuses(app, task_id)
    return app, task_id, statuses


def check_loaded(app, task_id: int, statuses: list[str]) -> None:
    # A fast worker may claim the task before the first poll, so the sequence
    # may start at in_progress; it must never go backwards or skip in_progress.
    assert statuses in (
        ["pending", "in_progress", "completed"],
        ["in_progress", "completed"],
    ), statuses
    with app.app_context():
        task = db.session.get(FetchTask, task_id)
        assert task.error is None
        assert task.rows_read == REPORT_ROWS
        assert task.rows_loaded == REPORT_ROWS
        assert task.rows_rejected == 0
        assert task.created_at <= task.started_at <= task.finished_at
        sales = db.session.scalar(db.select(func.count()).select_from(Sale))
        assert sales == REPORT_ROWS
        rolled = db.session.scalar(db.select(func.sum(MonthlyRollup.sales_count)))
        assert rolled == REPORT_ROWS
        revenue = db.session.scalar(db.select(func.sum(Sale.price)))
        rolled_revenue = db.session.scalar(db.select(func.sum(MonthlyRollup.revenue)))
        assert Decimal(revenue) == Decimal(rolled_revenue)
    with app.app_context():
        db.engine.dispose()


def test_worker_embedded_broker_sqlite(tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    app, task_id, statuses = run_through_worker(
        tmp_path, f"sqlite:///{tmp_path / 'app.db'}", broker
    )
    check_loaded(app, task_id, statuses)


@pytest.mark.redis
@pytest.mark.postgres
def test_worker_redis_broker_postgres(tmp_path, redis_url, postgres_schema):
    redis.Redis.from_url(redis_url).flushdb()
    app, task_id, statuses = run_through_worker(tmp_path, postgres_schema, redis_url)
    check_loaded(app, task_id, statuses)


@pytest.mark.redis
def test_worker_redis_broker_sqlite(tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    app, task_id, statuses = run_through_worker(
        tmp_path, f"sqlite:///{tmp_path / 'app.db'}", redis_url
    )
    check_loaded(app, task_id, statuses)


@pytest.mark.postgres
def test_worker_embedded_broker_postgres(tmp_path, postgres_schema):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    app, task_id, statuses = run_through_worker(tmp_path, postgres_schema, broker)
    check_loaded(app, task_id, statuses)


def test_worker_loads_large_file_in_parts(tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    parts = {"FORECOURT_PARALLEL_PARTS": "3", "FORECOURT_PARALLEL_MIN_MB": "1"}
    app, task_id, statuses = run_through_worker(
        tmp_path, f"sqlite:///{tmp_path / 'app.db'}", broker, parts
    )
    check_loaded(app, task_id, statuses)
    with app.app_context():
        assert db.session.get(FetchTask, task_id).parts_total == 3
