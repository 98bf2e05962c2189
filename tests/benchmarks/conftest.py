"""Benchmark harness tests write their files and databases under ``tmp_path``."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def bench_out(tmp_path, monkeypatch):
    """Point the benchmark output folder at a temporary one."""
    folder = tmp_path / "bench-out"
    monkeypatch.setenv("FORECOURT_BENCH_OUT", str(folder))
    return folder
