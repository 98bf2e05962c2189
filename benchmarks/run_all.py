"""Run the benchmarks, print their tables and write them into docs/benchmarks.md.

    python -m benchmarks.run_all            # full run on 1M rows
    python -m benchmarks.run_all --big      # plus the 10M-row memory run
    python -m benchmarks.run_all --quick    # smoke run on 100k rows, about 4 minutes

``BENCH_QUICK=1`` in the environment means ``--quick`` and turns ``--big`` off,
so ``BENCH_QUICK=1 make bench`` is a smoke run.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import socket
import sys
import time
from datetime import UTC, datetime

from benchmarks import ingest, load, parallel, refresh_report
from benchmarks.databases import KINDS, DatabasePool
from benchmarks.machine import Machine, describe_machine
from benchmarks.refresh import loaded_database
from benchmarks.report import Section, write_sections
from benchmarks.settings import DOC, FORMATS, FULL, QUICK, Scale

log = logging.getLogger("benchmarks.run_all")

SECTIONS = ("ingest", "refresh", "load", "parallel")
TITLES = {
    "ingest": "Ingest",
    "refresh": "Refresh",
    "load": "Load",
    "parallel": "Parallel load",
}


def _names(value: str, allowed: tuple[str, ...], option: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{option} {value!r} is invalid; use a comma-separated list of "
            f"{', '.join(allowed)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_all", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run on 100,000 rows"
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help="also load a 10,000,000-row CSV through the worker path into SQLite "
        "to measure its peak memory",
    )
    parser.add_argument(
        "--big-rows",
        type=int,
        help="rows of the --big run (default 10,000,000, or 100,000 with --quick)",
    )
    parser.add_argument(
        "--only",
        type=lambda value: _names(value, SECTIONS, "--only"),
        default=list(SECTIONS),
        help=f"sections to run, comma-separated (default: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--databases",
        type=lambda value: _names(value, KINDS, "--databases"),
        default=list(KINDS),
        help="database kinds, comma-separated (default: sqlite,postgres)",
    )
    parser.add_argument(
        "--formats",
        type=lambda value: _names(value, FORMATS, "--formats"),
        default=list(FORMATS),
        help="file formats of the ingest section (default: csv,json,ndjson)",
    )
    parser.add_argument(
        "--no-doc",
        action="store_true",
        help=f"print the tables only, do not rewrite {DOC.name}",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)

    if os.environ.get("BENCH_QUICK", "") not in ("", "0"):
        args.quick = True
        args.big = False

    if args.big_rows is not None and args.big_rows < 1:
        parser.error(f"--big-rows must be at least 1, got {args.big_rows}")
    return args


def _postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def _header(
    args: argparse.Namespace, scale: Scale, machine: Machine, started: datetime
) -> list[str]:
    mode = "quick smoke run" if args.quick else "full run"
    command = shlex.join(["python", "-m", "benchmarks.run_all", *sys.argv[1:]])
    stamp = started.strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Run started {stamp}, {mode} ({scale.ingest_rows:,} ingest rows), command "
        f"`{command}`.",
        "",
        f"Machine: {machine.line()}.",
    ]


def run_sections(
    args: argparse.Namespace, scale: Scale, kinds: list[str], pool: DatabasePool
) -> dict[str, tuple[list, list[str]]]:
    """Run the chosen sections and return their (tables, errors)."""
    results: dict[str, tuple[list, list[str]]] = {}
    if "ingest" in args.only:
        big_rows = None
        if args.big:
            big_rows = args.big_rows or scale.big_rows
        tables = ingest.run_section(
            scale.ingest_rows, kinds, args.formats, pool, big_rows
        )
        results["ingest"] = (tables, [])
    if "refresh" in args.only:
        results["refresh"] = refresh_report.run_section(
            scale.refresh_rows, scale.refresh_factor, scale.repetitions, kinds, pool
        )
    if "load" in args.only:
        databases = [
            (loaded_database(kind, scale.ingest_rows, pool), scale.ingest_rows)
            for kind in kinds
        ]
        results["load"] = load.run_section(
            databases, scale.load_clients, scale.load_seconds
        )
    if "parallel" in args.only:
        results["parallel"] = parallel.run_section(scale.ingest_rows, kinds)
    return results


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    scale = QUICK if args.quick else FULL
    machine = describe_machine()
    kinds = list(args.databases)
    skipped = []
    if "postgres" in kinds and not _postgres_up():
        kinds.remove("postgres")
        skipped.append("PostgreSQL is not listening on 127.0.0.1:5432")
        log.warning("PostgreSQL is down; running on %s only", ", ".join(kinds))

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    pool = DatabasePool()
    try:
        results = run_sections(args, scale, kinds, pool)
    finally:
        pool.drop_all()

    header = _header(args, scale, machine, started_at)
    sections = []
    for name, (tables, errors) in results.items():
        section = Section(name, TITLES[name], header, tables, skipped + errors)
        sections.append(section)
        print("\n" + section.markdown() + "\n")
    if not args.no_doc:
        write_sections(DOC, sections)
    log.info("benchmarks finished in %.0f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
