"""The parallel section with real Celery workers on a Redis broker.

The workers consume the broker's default queue, so two test runs sharing one
Redis database would take each other's messages. The tests start their own
redis-server on a free loopback port instead.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis

from benchmarks import parallel, run_all
from benchmarks.databases import (
    add_fetch_task,
    app_on,
    ensure_owner,
    temporary_database,
)
from benchmarks.datasets import data_file
from benchmarks.parallel import (
    CASES,
    Case,
    ParallelRun,
    WorkerFailed,
    check_redis,
    check_table,
    comparison,
    cpu_seconds,
    run_error,
    timing_table,
    wait_finished,
)

# The smallest generated file above the 1 MiB that workers split at.
ROWS = 25_000
REDIS_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_redis(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    client = redis.Redis.from_url(url, socket_timeout=1)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
        finally:
            client.close()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """Start a private redis-server on 127.0.0.1 and yield its URL."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed; the parallel tests start one")
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    command = [server, "--bind", "127.0.0.1", "--port", str(port)]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
    with open(folder / "redis.log", "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def file_totals(rows: int) -> tuple[int, Decimal]:
    """Count the rows of the generated CSV file and add up their prices."""
    with open(data_file(rows, "csv"), newline="") as handle:
        prices = [Decimal(row["price"]) for row in csv.DictReader(handle)]
    return len(prices), sum(prices, Decimal(0))


def finished_run(case: Case, **values) -> ParallelRun:
    defaults = {
        "seconds": 2.0,
        "parts_total": case.parts if case.parts > 1 else 0,
        "rows_read": 100,
        "rows_loaded": 100,
        "rows_duplicate": 0,
        "rows_rejected": 0,
        "sales_rows": 100,
        "price_sum": Decimal("1234.50"),
        "rollup_sales": 100,
        "rollup_revenue": Decimal("1234.50"),
        "worker_cpu": [1.0] * case.workers,
    }
    return ParallelRun(case, "sqlite", 100, **{**defaults, **values})


def test_sqlite_cases_store_the_same_sales(redis_url):
    rows, price_sum = file_totals(ROWS)
    runs = parallel.run_cases(ROWS, ["sqlite"], redis_url)

    assert [run.case for run in runs] == list(CASES)
    assert [run.error for run in runs] == [None, None, None]
    assert [run.parts_total for run in runs] == [0, 4, 4]
    for run in runs:
        assert run.rows_loaded == rows
        assert run.sales_rows == rows
        assert run.price_sum == price_sum
        assert run.rollup_revenue == price_sum
        assert run.seconds > 0
    assert [len(run.worker_cpu) for run in runs] == [1, 1, 2]
    assert all(cpu > 0 for cpu in runs[2].worker_cpu)

    checks = [row[-1] for row in check_table(runs).rows]
    assert checks == ["reference", "yes", "yes"]
    timing = timing_table(runs, ROWS, redis_url)
    assert [row[2] for row in timing.rows] == ["1", "4", "4"]
    assert [row[-1] for row in timing.rows] == ["ok", "ok", "ok"]


@pytest.mark.postgres
def test_postgres_parts_on_two_workers(redis_url, postgres_url):
    rows, price_sum = file_totals(ROWS)

    run = parallel.run_case("postgres", CASES[2], ROWS, redis_url)

    assert run.error is None
    assert run.parts_total == 4
    assert run.rows_loaded == rows
    assert run.rows_duplicate == 0
    assert run.rows_rejected == 0
    assert run.price_sum == price_sum
    assert run.rollup_sales == rows


def test_worker_that_exits_is_reported(redis_url, tmp_path):
    with temporary_database("sqlite", "test") as database:
        with app_on(database, {"BROKER_URL": redis_url}) as app:
            env = parallel.worker_environment(database, redis_url, 4, tmp_path)
            env["FORECOURT_ENV"] = "staging"
            with pytest.raises(WorkerFailed, match="exited with") as caught:
                with parallel.running_workers(app, env, 1, "test-exit"):
                    pass
            app.extensions["celery"].close()
    assert "FORECOURT_ENV='staging' is invalid" in str(caught.value)


def test_worker_started_elsewhere_is_reported(redis_url, tmp_path):
    with temporary_database("sqlite", "test") as database:
        with app_on(database, {"BROKER_URL": redis_url}) as app:
            env = parallel.worker_environment(database, redis_url, 4, tmp_path)
            with parallel.running_workers(app, env, 1, "test-first"):
                with pytest.raises(WorkerFailed, match="did not start it") as caught:
                    with parallel.running_workers(app, env, 1, "test-second"):
                        pass
            app.extensions["celery"].close()
    assert "worker test-first-1@bench consumes from the broker" in str(caught.value)


def test_wait_finished_stops_at_timeout():
    with temporary_database("sqlite", "test") as database:
        with app_on(database) as app:
            owner_id = ensure_owner(app)
            source = {"kind": "csv", "path": data_file(50, "csv").name}
            task_id = add_fetch_task(app, owner_id, source)
            with app.app_context():
                with pytest.raises(WorkerFailed, match="still pending after 0 s"):
                    wait_finished(task_id, [], timeout=0.2)


def test_comparison_names_each_difference():
    reference = finished_run(CASES[0])
    split = finished_run(
        CASES[2], rows_loaded=99, sales_rows=99, price_sum=Decimal("1200.00")
    )

    verdict = comparison(split, reference)

    assert verdict.startswith("**no**: ")
    assert "rows loaded 99 ≠ 100" in verdict
    assert "sales rows 99 ≠ 100" in verdict
    assert "sum of price 1200.00 ≠ 1234.50" in verdict
    assert "duplicate" not in verdict


def test_comparison_skips_failed_loads():
    reference = finished_run(CASES[0], error="task failed: no file")
    assert comparison(finished_run(CASES[2]), reference) == (
        "not compared: a load failed"
    )
    assert comparison(finished_run(CASES[2]), None) == "not compared: a load failed"
    assert comparison(reference, reference) == "reference"


def test_run_error_flags_unsplit_load():
    run = finished_run(CASES[1], parts_total=0)
    error = run_error(run, "completed", None)
    assert error.startswith("the task ran in 0 parts, not 4.")


def test_run_error_flags_missing_rows_and_failures():
    assert run_error(finished_run(CASES[0]), "completed", None) is None
    short = finished_run(CASES[0], rows_read=90)
    assert run_error(short, "completed", None) == "read 90 of 100 rows"
    failed = run_error(finished_run(CASES[0]), "failed", "Part 2: bad bytes")
    assert failed == "task failed: Part 2: bad bytes"


def test_timing_table_compares_with_the_whole_file():
    runs = [
        finished_run(CASES[0], seconds=4.0),
        finished_run(CASES[2], seconds=2.0, worker_cpu=[1.25, 0.5]),
    ]
    table = timing_table(runs, 100, "redis://127.0.0.1:6379/14")
    assert table.rows[0][5] == "1.00×"
    assert table.rows[1][5] == "2.00×"
    assert table.rows[1][6] == "1.2 + 0.5"
    assert "redis://127.0.0.1:6379/14" in table.notes[0]


@pytest.mark.parametrize(
    "url",
    ["redis://10.0.0.5:6379/14", "rediss://127.0.0.1:6379/14", "amqp://127.0.0.1//"],
)
def test_check_redis_rejects_other_hosts(url):
    assert "is not a redis:// URL on 127.0.0.1" in check_redis(url)


def test_check_redis_reports_a_closed_port():
    # Port 1 on the loopback address has no listener, so the connection fails.
    assert check_redis("redis://127.0.0.1:1/14").startswith("Redis is not reachable")


def test_section_without_redis_is_not_measured():
    tables, errors = parallel.run_section(ROWS, ["sqlite"], "redis://127.0.0.1:1/14")
    assert tables == []
    assert errors[0].startswith("Redis is not reachable at redis://127.0.0.1:1/14")


def test_cpu_seconds_grows_with_work():
    before = cpu_seconds(os.getpid())
    sum(number * number for number in range(2_000_000))
    assert cpu_seconds(os.getpid()) > before


def test_case_labels():
    assert [case.label for case in CASES] == [
        "whole file, 1 worker",
        "4 parts, 1 worker",
        "4 parts, 2 workers",
    ]


def test_run_all_accepts_the_parallel_section():
    args = run_all.parse_args(["--quick", "--only", "parallel", "--no-doc"])
    assert args.only == ["parallel"]
    assert "parallel" in run_all.SECTIONS
    assert run_all.TITLES["parallel"] == "Parallel load"
