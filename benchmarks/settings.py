"""Paths, service addresses and the sizes of a full run and a quick run."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable

POSTGRES_URL = os.environ.get(
    "FORECOURT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# The broker of the parallel section. The section flushes this Redis database
# before each case, so it must be one that nothing else uses.
BENCH_REDIS_URL = os.environ.get(
    "FORECOURT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"
)


def out_dir() -> Path:
    """Return the folder for generated files, databases and logs.

    ``FORECOURT_BENCH_OUT`` moves it. The default, ``benchmarks/out``, is
    ignored by git.
    """
    return Path(os.environ.get("FORECOURT_BENCH_OUT") or ROOT / "benchmarks" / "out")


def data_dir() -> Path:
    """Return the folder of the generated sales files."""
    return out_dir() / "data"


def runs_dir() -> Path:
    """Return the folder of benchmark databases and server logs."""
    return out_dir() / "runs"


BENCH_USER = "bench"
BENCH_PASSWORD = "benchmark password"
FORMATS = ("csv", "json", "ndjson")
# The parallel section loads its file whole and in this many parts.
PARALLEL_PARTS = 4

# The typical filter of the refresh and load runs: one year and three companies.
TYPICAL_YEAR = 2023
TYPICAL_COMPANIES = ("Toyota", "Volkswagen", "BMW")


@dataclass(frozen=True)
class Scale:
    """How much work one run does."""

    ingest_rows: int
    # The refresh runs on a database loaded through the worker path and on one
    # ``refresh_factor`` times larger, derived from it by SQL.
    refresh_rows: int
    refresh_factor: int
    repetitions: int
    load_seconds: float
    load_clients: int
    big_rows: int


FULL = Scale(
    ingest_rows=1_000_000,
    refresh_rows=1_000_000,
    refresh_factor=10,
    repetitions=100,
    load_seconds=60.0,
    load_clients=20,
    big_rows=10_000_000,
)
QUICK = Scale(
    ingest_rows=100_000,
    refresh_rows=10_000,
    refresh_factor=10,
    repetitions=30,
    load_seconds=15.0,
    load_clients=20,
    big_rows=100_000,
)
