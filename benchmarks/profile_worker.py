"""Profile the worker path with cProfile and print where the time goes.

    python -m benchmarks.profile_worker --rows 100000 --database sqlite

The fetch runs in a child process, as in the ingest benchmark, and its stats
are saved in the benchmark output folder (``benchmarks/out`` by default) for
tools such as snakeviz. cProfile slows
the pure-Python parts more than the database, so read the shares, not the
absolute times.
"""

from __future__ import annotations

import argparse
import io
import logging
import pstats
import sys

from benchmarks.databases import (
    KINDS,
    add_fetch_task,
    app_environment,
    app_on,
    ensure_owner,
    temporary_database,
)
from benchmarks.datasets import data_file
from benchmarks.ingest import child_timeout, source_for
from benchmarks.processes import run_python_child
from benchmarks.settings import FORMATS, out_dir

log = logging.getLogger("benchmarks.profile_worker")


def profile_fetch(rows: int, kind: str, data_format: str) -> pstats.Stats:
    """Run one fetch of ``rows`` rows under cProfile and return its stats."""
    path = data_file(rows, data_format)
    stats_path = out_dir() / f"profile-{kind}-{data_format}-{rows}.prof"
    with temporary_database(kind, "profile") as database:
        with app_on(database) as app:
            owner_id = ensure_owner(app)
            task_id = add_fetch_task(app, owner_id, source_for(data_format, path.name))
        measured = run_python_child(
            ["worker", str(task_id), "--profile", str(stats_path)],
            child_timeout(rows),
            app_environment(database.url),
        )
    result = measured.result
    log.info(
        "profiled fetch: %s, %s rows loaded in %.1f s under cProfile; stats in %s",
        result["status"],
        f"{result['rows_loaded']:,}",
        result["seconds"],
        stats_path,
    )
    return pstats.Stats(str(stats_path))


def format_top(stats: pstats.Stats, order: str, limit: int) -> str:
    buffer = io.StringIO()
    stats.stream = buffer
    stats.sort_stats(order).print_stats(limit)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to load")
    parser.add_argument("--database", choices=KINDS, default="sqlite")
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument(
        "--top", type=int, default=25, help="functions listed per ordering"
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows must be at least 1, got {args.rows}")

    stats = profile_fetch(args.rows, args.database, args.format)
    stats.strip_dirs()
    print(format_top(stats, "tottime", args.top))
    print(format_top(stats, "cumulative", args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
