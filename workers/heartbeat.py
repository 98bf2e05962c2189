"""A thread that keeps a running task's heartbeat fresh.

Counters and the heartbeat are also written with every committed batch, but one
batch can take minutes when an API answers slowly. Without this thread the
stale-task sweep would take such a task for dead and start a second copy.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import update
from sqlalchemy.engine import Engine

from models import FetchTask
from models.base import utcnow

log = logging.getLogger(__name__)


class Heartbeat:
    """Update ``heartbeat_at`` of one in-progress task every ``interval`` seconds."""

    def __init__(self, engine: Engine, task_id: int, interval: float):
        self.engine = engine
        self.task_id = task_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{task_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning(
                    "heartbeat of fetch task %s failed", self.task_id, exc_info=True
                )

    def beat(self) -> None:
        statement = (
            update(FetchTask)
            .where(FetchTask.id == self.task_id, FetchTask.status == "in_progress")
            .values(heartbeat_at=utcnow())
        )
        with self.engine.begin() as connection:
            connection.execute(statement)
