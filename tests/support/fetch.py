"""Run fetch tasks in the test process, the way a Celery worker runs them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func

from models import FetchTask, RejectedRow, Sale, User, db
from sources.spec import parse_filters, parse_source_spec
from tests.support.factories import add_user
from workers.ingest import run_fetch


def run_task(app, source: dict, filters: dict | None = None, owner: str = "ana") -> int:
    """Store a task for ``source`` owned by ``owner``, run it, return its id."""
    with app.app_context():
        user = User.find(owner)
        owner_id = user.id if user else add_user(app, owner)
        spec = parse_source_spec(
            source,
            data_dirs=app.config["DATA_DIRS"],
            allowed_networks=app.config["HTTP_ALLOWED_NETWORKS"],
        )
        task = FetchTask(
            owner_id=owner_id,
            name="test",
            source_kind=spec.kind,
            source_spec=spec.to_dict(),
            filters=parse_filters(filters).to_dict(),
        )
        db.session.add(task)
        db.session.commit()
        task_id = task.id
        run_fetch(task_id)
        db.session.remove()
    return task_id


def task_row(app, task_id: int) -> FetchTask:
    """Return a detached copy of the task row."""
    with app.app_context():
        task = db.session.get(FetchTask, task_id)
        db.session.expunge(task)
        return task


def totals(app, task_id: int) -> tuple[FetchTask, int, Decimal]:
    """Return the task row, its loaded sale count and their revenue."""
    with app.app_context():
        count = db.session.scalar(
            db.select(func.count()).select_from(Sale).where(Sale.task_id == task_id)
        )
        revenue = db.session.scalar(
            db.select(func.sum(Sale.price)).where(Sale.task_id == task_id)
        )
    return task_row(app, task_id), count, Decimal(revenue or 0)


def rejections(app, task_id: int) -> list[tuple[int | None, str, str]]:
    """Return (line number, reason, raw text) of each rejected row, in line order."""
    with app.app_context():
        rows = db.session.execute(
            db.select(RejectedRow.line_no, RejectedRow.reason, RejectedRow.raw)
            .where(RejectedRow.task_id == task_id)
            .order_by(RejectedRow.line_no)
        ).all()
    return [tuple(row) for row in rows]
