"""Run a command in a child process and measure its wall time and peak memory."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.settings import PYTHON, ROOT

log = logging.getLogger(__name__)

# Lines of the child's stderr shown when it fails.
ERROR_TAIL_LINES = 15
# Seconds between two reads of a child's peak memory.
SAMPLE_INTERVAL = 0.01


class ChildFailed(RuntimeError):
    """A measured child process exited with an error."""


@dataclass
class Measured:
    """Wall time and peak resident memory of one child process."""

    seconds: float
    peak_mb: float  # maximum resident set size, in MB of 10**6 bytes
    result: dict[str, Any] = field(default_factory=dict)


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Return the peak resident memory of ``pid`` since its last exec, in MB.

    This is ``VmHWM`` from /proc. ``ru_maxrss`` would be wrong for children:
    Linux carries the high-water mark of the process image that ran before exec,
    which for a child of this process is the benchmark runner's own memory.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


class _PeakSampler(threading.Thread):
    """Read a child's ``VmHWM`` every few milliseconds until it exits."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_INTERVAL):
            value = peak_rss_mb(self.pid)
            if value is not None:
                self.peak_mb = max(self.peak_mb, value)


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-ERROR_TAIL_LINES:])


def run_measured(
    command: list[str], timeout: float, env: dict[str, str] | None = None
) -> Measured:
    """Run ``command`` and return its wall time and peak RSS.

    The last stdout line, when it is JSON, becomes ``Measured.result``. A child
    that reports ``peak_mb`` there (read from its own /proc entry just before it
    exits) gives the exact peak. For other commands the peak is sampled every
    ``SAMPLE_INTERVAL`` seconds, which can miss a spike shorter than that. Raise
    ``ChildFailed`` with the tail of stderr when the command exits non-zero or
    runs past ``timeout`` seconds.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        sampler = _PeakSampler(process.pid)
        sampler.start()
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, _usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            sampler.done.set()
        seconds = time.perf_counter() - started
        # wait4 reaped the child, so tell Popen not to wait for it again.
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")

    if seconds >= timeout:
        raise ChildFailed(f"{' '.join(command[:4])} ran past the {timeout:.0f} s limit")
    if process.returncode != 0:
        raise ChildFailed(
            f"{' '.join(command[:4])} exited with {process.returncode}:\n"
            f"{_tail(stderr) or _tail(stdout)}"
        )
    result: dict[str, Any] = {}
    lines = stdout.strip().splitlines()
    if lines and lines[-1].startswith("{"):
        result = json.loads(lines[-1])
    peak_mb = max(sampler.peak_mb, result.get("peak_mb") or 0.0)
    return Measured(seconds=seconds, peak_mb=peak_mb, result=result)


def run_python_child(
    arguments: list[str], timeout: float, env: dict[str, str] | None = None
) -> Measured:
    """Run ``python -m benchmarks.child ARGUMENTS`` under ``run_measured``."""
    return run_measured([PYTHON, "-m", "benchmarks.child", *arguments], timeout, env)
