"""Start a real ``celery -A workers worker`` process for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path, beat: bool = False) -> Iterator:
    """Run a worker with ``env`` added to the environment until the block ends.

    Waits until the worker reports that it is ready. On a failed start the test
    fails with the tail of the worker log.
    """
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
    ]
    if beat:
        command += ["--beat", f"--schedule={log_path.parent / 'beat-schedule'}"]
    full_env = {**os.environ, **env}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, log_path)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if " ready." in text:
            return
        if process.poll() is not None:
            raise AssertionError(f"celery worker exited early:\n{text[-3000:]}")
        time.sleep(0.2)
    text = log_path.read_text(errors="replace")
    raise AssertionError(
        f"celery worker not ready in {READY_TIMEOUT} s:\n{text[-3000:]}"
    )
