"""Synthetic sales files for the benchmarks, generated once per (rows, format).

Files come from ``data/generate.py`` and are cached in ``settings.data_dir()``.
The generator is deterministic, so a cached file is the same as a new one.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

from benchmarks.settings import PYTHON, ROOT, data_dir

log = logging.getLogger(__name__)

EXTENSIONS = {"csv": "csv", "json": "json", "ndjson": "ndjson"}


def data_file(rows: int, data_format: str) -> Path:
    """Return the path of the sales file for ``rows`` and ``data_format``,
    generating it first when it is not cached."""
    if data_format not in EXTENSIONS:
        raise ValueError(
            f"unknown data format {data_format!r}; use one of {', '.join(EXTENSIONS)}"
        )
    path = data_dir() / f"sales-{rows}.{EXTENSIONS[data_format]}"
    if path.is_file():
        return path

    data_dir().mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    log.info("generating %s rows of %s into %s", f"{rows:,}", data_format, path)
    started = time.perf_counter()
    command = [
        PYTHON,
        str(ROOT / "data" / "generate.py"),
        "--rows",
        str(rows),
        "--format",
        data_format,
        "--out",
        str(partial),
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    # Renamed only when complete, so an interrupted run never leaves a short file
    # that a later run would take as cached.
    partial.rename(path)
    log.info("generated %s in %.1f s", path.name, time.perf_counter() - started)
    return path
