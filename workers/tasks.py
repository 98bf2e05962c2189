"""Celery tasks. Each is thin: it calls ``workers.ingest`` in the app context."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from dashboard.queue import FETCH_PART, FETCH_TASK, REQUEUE_STALE, enqueue_fetch
from workers.ingest import requeue_stale, run_fetch, run_part

log = logging.getLogger(__name__)


@shared_task(name=FETCH_TASK, ignore_result=True)
def fetch_sales(task_id: int) -> str:
    """Load the records of fetch task ``task_id`` into the sales tables."""
    return run_fetch(task_id)


@shared_task(name=FETCH_PART, ignore_result=True)
def fetch_sales_part(task_id: int, number: int) -> str:
    """Load one part of a large file for fetch task ``task_id``."""
    return run_part(task_id, number)


@shared_task(name=REQUEUE_STALE, ignore_result=True)
def requeue_stale_tasks() -> list[int]:
    """Send again the tasks whose message was lost or whose worker died."""
    app = current_app._get_current_object()
    return requeue_stale(lambda task_id: enqueue_fetch(app, task_id))
