"""The work that benchmarks measure in a child process, one job per run.

    python -m benchmarks.child worker TASK_ID [--profile FILE]
    python -m benchmarks.child copy URL CSV_FILE TABLE
    python -m benchmarks.child pandas URL CSV_FILE TABLE

Each job prints one JSON line with its result, and its own peak memory, as the
last line of stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.processes import peak_rss_mb

# COPY reads the file in blocks of this many bytes.
COPY_BLOCK = 1 << 20


def run_worker(task_id: int, profile: Path | None) -> dict[str, Any]:
    """Run fetch task ``task_id`` through ``workers.ingest.run_fetch``.

    The app is the one ``celery -A workers worker`` runs tasks in, built from
    the ``FORECOURT_*`` variables the parent set, so the memory is a worker's.
    """
    import workers
    from models import FetchTask, db
    from workers.ingest import run_fetch

    with workers.flask_app.app_context():
        ready_mb = peak_rss_mb()
        started = time.perf_counter()
        if profile is None:
            status = run_fetch(task_id)
        else:
            profiler = cProfile.Profile()
            status = profiler.runcall(run_fetch, task_id)
            profiler.dump_stats(profile)
        seconds = time.perf_counter() - started
        db.session.remove()
        task = db.session.get(FetchTask, task_id)
        return {
            "status": status,
            "seconds": seconds,
            "ready_mb": ready_mb,
            "rows_read": task.rows_read,
            "rows_loaded": task.rows_loaded,
            "rows_rejected": task.rows_rejected,
            "rows_duplicate": task.rows_duplicate,
            "error": task.error,
        }


def run_copy(url: str, csv_file: Path, table: str) -> dict[str, Any]:
    """Load ``csv_file`` with PostgreSQL ``COPY ... FROM STDIN``, streamed."""
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    statement = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(
        sql.Identifier(table)
    )
    with psycopg.connect(url) as conn:
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            with open(csv_file, "rb") as source:
                while block := source.read(COPY_BLOCK):
                    copy.write(block)
        conn.commit()
    return {"seconds": time.perf_counter() - started}


def run_pandas(url: str, csv_file: Path, table: str) -> dict[str, Any]:
    """Load ``csv_file`` with ``pandas.read_csv`` and ``DataFrame.to_sql``."""
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    started = time.perf_counter()
    frame = pd.read_csv(csv_file)
    # Default insert method and no chunking, as most pandas loaders are written.
    frame.to_sql(table, engine, index=False, method=None, chunksize=None)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    jobs = parser.add_subparsers(dest="job", required=True)
    worker = jobs.add_parser("worker", help="run one fetch task")
    worker.add_argument("task_id", type=int)
    worker.add_argument("--profile", type=Path, help="write cProfile stats here")
    for name in ("copy", "pandas"):
        job = jobs.add_parser(name, help=f"load a CSV file with {name}")
        job.add_argument("url", help="database URL")
        job.add_argument("csv_file", type=Path)
        job.add_argument("table", help="name of the table to load into")
    args = parser.parse_args(argv)

    if args.job == "worker":
        result = run_worker(args.task_id, args.profile)
    elif args.job == "copy":
        result = run_copy(args.url, args.csv_file, args.table)
    else:
        result = run_pandas(args.url, args.csv_file, args.table)
    result["peak_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
