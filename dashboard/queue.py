"""The Celery app, built from the Flask config, and how the web side enqueues work.

The web process never imports the task functions. It sends tasks by name, so it
needs neither the source readers nor the worker code.
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from flask import Flask

log = logging.getLogger(__name__)

FETCH_TASK = "forecourt.fetch_sales"
FETCH_PART = "forecourt.fetch_sales_part"
REQUEUE_STALE = "forecourt.requeue_stale_tasks"


def init_celery(app: Flask) -> Celery:
    """Create the Celery app for ``app`` and keep it in ``app.extensions``."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    broker = app.config["BROKER_URL"]
    celery.conf.update(
        broker_url=broker,
        # The task row in the database is the result store, so no backend.
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=app.config["TASK_TIME_LIMIT"],
        task_soft_time_limit=max(app.config["TASK_TIME_LIMIT"] - 30, 10),
        broker_connection_retry_on_startup=True,
        include=["workers.tasks"],
        timezone="UTC",
        beat_schedule={
            "requeue-stale-tasks": {
                "task": REQUEUE_STALE,
                "schedule": 60.0,
            }
        },
    )
    # No broker_transport_options for the sqla+ broker: kombu 5.7's SQLAlchemy
    # transport passes every option to create_engine, which rejects
    # polling_interval, so the table is polled at kombu's default of once a second.
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def enqueue_fetch(app: Flask, task_id: int) -> None:
    """Send the fetch task for ``task_id`` to the broker.

    Called after the task row is committed. When the broker is down the row stays
    pending, and the stale-task sweep sends it again.
    """
    celery: Celery = app.extensions["celery"]
    try:
        celery.send_task(FETCH_TASK, args=[task_id])
    except Exception:
        log.exception("could not send fetch task %s to the broker", task_id)
        raise
    log.info("queued fetch task %s", task_id)
