"""A running task's heartbeat moves even while one slow batch is in flight."""

from __future__ import annotations

import time

from models import FetchTask, db
from models.base import utcnow
from tests.support.factories import add_user
from workers.heartbeat import Heartbeat


def test_heartbeat_updates_in_progress_task(app):
    owner = add_user(app, "ana")
    with app.app_context():
        old = utcnow().replace(year=2000)
        task = FetchTask(
            owner_id=owner,
            name="slow",
            source_kind="api",
            source_spec={},
            filters={},
            status="in_progress",
            heartbeat_at=old,
        )
        db.session.add(task)
        db.session.commit()
        task_id = task.id

        with Heartbeat(db.engine, task_id, interval=0.05):
            time.sleep(0.3)

        db.session.expire_all()
        assert db.session.get(FetchTask, task_id).heartbeat_at > old


def test_heartbeat_leaves_finished_task_alone(app):
    owner = add_user(app, "ana")
    with app.app_context():
        old = utcnow().replace(year=2000)
        task = FetchTask(
            owner_id=owner,
            name="done",
            source_kind="api",
            source_spec={},
            filters={},
            status="completed",
            heartbeat_at=old,
        )
        db.session.add(task)
        db.session.commit()

        Heartbeat(db.engine, task.id, interval=1).beat()

        db.session.expire_all()
        assert db.session.get(FetchTask, task.id).heartbeat_at == old
