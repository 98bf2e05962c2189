"""Child processes: wall time, peak memory of that child alone, and failures."""

from __future__ import annotations

import sys

import pytest

from benchmarks.processes import ChildFailed, peak_rss_mb, run_measured

ALLOCATE_80_MB = (
    "import json, resource\n"
    "block = bytearray(80 * 1000 * 1000)\n"
    "block[::4096] = b'x' * len(block[::4096])\n"
    "print('log line')\n"
    "print(json.dumps({'answer': 42}))\n"
)


def test_run_measured_reads_peak_and_json_result():
    measured = run_measured([sys.executable, "-c", ALLOCATE_80_MB], timeout=60)
    assert measured.peak_mb >= 80
    assert measured.peak_mb < 200
    assert measured.result == {"answer": 42}
    assert measured.seconds > 0


def test_run_measured_peak_excludes_the_parent():
    # The test process has pandas and the app imported. A bare child must not
    # inherit that high-water mark the way ru_maxrss would.
    parent = peak_rss_mb()
    measured = run_measured([sys.executable, "-c", "import time; time.sleep(0.2)"], 60)
    assert parent is not None
    assert parent > 60
    assert measured.peak_mb < 40


def test_run_measured_raises_with_stderr_tail():
    command = [sys.executable, "-c", "import sys; sys.exit('the input is broken')"]
    with pytest.raises(ChildFailed, match="the input is broken"):
        run_measured(command, timeout=60)


def test_run_measured_stops_a_child_past_its_timeout():
    command = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(ChildFailed, match="ran past the 1 s limit"):
        run_measured(command, timeout=1)
