"""Load one large file in parts on several workers.

A fetch of a CSV or NDJSON file larger than ``FORECOURT_PARALLEL_MIN_MB`` is cut
into ``FORECOURT_PARALLEL_PARTS`` byte ranges on record boundaries
(``workers.split``). Each range is written, after the CSV header, to a file of
the original name in its own folder, so the part's records get exactly the keys
a whole-file load gives them, and is loaded by its own Celery task. Each part
adds its counters to the task when it finishes; the part that finishes last
marks the task completed, or failed when any part failed.

Records with the same key in two parts are stored once and counted once as a
duplicate, as in a whole-file load; the result equals a sequential load except
for the order of row ids.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import update

from models import FetchTask, FetchTaskPart, Upload, db
from models.base import utcnow
from sources.spec import SourceSpec
from workers import split

log = logging.getLogger(__name__)


def _source_path(spec: SourceSpec, upload: Upload | None) -> Path | None:
    if upload is not None:
        return Path(upload.stored_path)
    return Path(spec.path) if spec.path else None


def _eligible(spec: SourceSpec, path: Path | None) -> bool:
    config = current_app.config
    if config["PARALLEL_PARTS"] < 2 or path is None or not path.is_file():
        return False
    if spec.kind == "csv":
        pass
    elif spec.kind != "json" or spec.format != "ndjson":
        return False
    return path.stat().st_size >= config["PARALLEL_MIN_BYTES"]


def should_split(task: FetchTask) -> bool:
    """True when the task's source is a local CSV or NDJSON file large enough."""
    spec = SourceSpec.from_dict(task.source_spec)
    upload = db.session.get(Upload, spec.upload_id) if spec.upload_id else None
    return _eligible(spec, _source_path(spec, upload))


def split_task(task: FetchTask, send_part) -> bool:
    """Cut the task's file into parts and queue them; False when it stays whole.

    ``send_part(task_id, number)`` queues one part.
    """
    spec = SourceSpec.from_dict(task.source_spec)
    upload = db.session.get(Upload, spec.upload_id) if spec.upload_id else None
    path = _source_path(spec, upload)
    if not _eligible(spec, path):
        return False

    if spec.kind == "csv":
        data_start = split.header_end(path)
        parts = split.plan_parts(
            path,
            current_app.config["PARALLEL_PARTS"],
            data_start=data_start,
            first_line=2,
        )
        with open(path, "rb") as handle:
            header = handle.read(data_start)
    else:
        parts = split.plan_parts(path, current_app.config["PARALLEL_PARTS"], quote=None)
        header = b""
    if len(parts) < 2:
        return False

    name = upload.filename if upload else path.name
    folder = part_folder(task.id)
    shutil.rmtree(folder, ignore_errors=True)
    db.session.execute(db.delete(FetchTaskPart).where(FetchTaskPart.task_id == task.id))
    for part in parts:
        target = folder / str(part.number) / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        split.write_part(path, part, target, header)
        db.session.add(
            FetchTaskPart(
                task_id=task.id,
                number=part.number,
                path=str(target),
                first_line=part.first_line,
                size=part.end - part.start,
            )
        )
    task.parts_total = len(parts)
    task.parts_done = 0
    task.bytes_total = path.stat().st_size
    task.heartbeat_at = utcnow()
    db.session.commit()
    log.info("fetch task %s split into %d parts", task.id, len(parts))
    for part in parts:
        send_part(task.id, part.number)
    return True


def part_folder(task_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "parts" / str(task_id)


@dataclass
class PartTask:
    """A stand-in for the task that points at one part's file.

    ``workers.ingest`` loads it like a task. Counters written to it stay here
    until ``finish_part`` adds them to the real task row in one statement.
    """

    id: int
    owner_id: int
    name: str
    source_kind: str
    source_spec: dict[str, Any]
    filters: dict[str, Any]
    line_offset: int
    rows_read: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_filtered: int = 0
    rows_rejected: int = 0
    bytes_read: int = 0
    bytes_total: int | None = None
    heartbeat_at: Any = None
    warnings: list[str] = field(default_factory=list)


def claim_part(task_id: int, number: int) -> PartTask | None:
    """Mark a pending part in progress and return its view, or None."""
    claimed = db.session.execute(
        update(FetchTaskPart)
        .where(
            FetchTaskPart.task_id == task_id,
            FetchTaskPart.number == number,
            FetchTaskPart.status == "pending",
        )
        .values(status="in_progress", started_at=utcnow())
    ).rowcount
    db.session.commit()
    task = db.session.get(FetchTask, task_id)
    if not claimed or task is None or task.status != "in_progress":
        return None
    part = db.session.get(FetchTaskPart, (task_id, number))
    spec = dict(task.source_spec)
    spec.update(path=part.path, upload_id=None, upload_name=None)
    return PartTask(
        id=task.id,
        owner_id=task.owner_id,
        name=task.name,
        source_kind=task.source_kind,
        source_spec=spec,
        filters=task.filters,
        # The part file's first record is on its line 2, after the header
        # (line 1 for NDJSON, which has none).
        line_offset=part.first_line - (2 if task.source_kind == "csv" else 1),
    )


def finish_part(part_task: PartTask, number: int, error: str | None) -> str:
    """Add a part's counters to its task and complete the task after the last part.

    Returns the task's status afterwards.
    """
    db.session.rollback()
    now = utcnow()
    db.session.execute(
        update(FetchTaskPart)
        .where(FetchTaskPart.task_id == part_task.id, FetchTaskPart.number == number)
        .values(status="failed" if error else "completed", finished_at=now)
    )
    values: dict[str, Any] = {
        "rows_read": FetchTask.rows_read + part_task.rows_read,
        "rows_loaded": FetchTask.rows_loaded + part_task.rows_loaded,
        "rows_duplicate": FetchTask.rows_duplicate + part_task.rows_duplicate,
        "rows_filtered": FetchTask.rows_filtered + part_task.rows_filtered,
        "rows_rejected": FetchTask.rows_rejected + part_task.rows_rejected,
        "bytes_read": FetchTask.bytes_read + part_task.bytes_read,
        "parts_done": FetchTask.parts_done + 1,
        "heartbeat_at": now,
    }
    db.session.execute(
        update(FetchTask).where(FetchTask.id == part_task.id).values(**values)
    )
    if error:
        db.session.execute(
            update(FetchTask)
            .where(FetchTask.id == part_task.id, FetchTask.error.is_(None))
            .values(error=f"Part {number + 1}: {error}")
        )
    if part_task.warnings:
        db.session.execute(
            update(FetchTask)
            .where(FetchTask.id == part_task.id, FetchTask.warning.is_(None))
            .values(warning="; ".join(part_task.warnings)[:4000])
        )
    # Exactly one part finds parts_done equal to parts_total, because the UPDATE
    # above locks the task row until this transaction commits.
    task = db.session.get(FetchTask, part_task.id, populate_existing=True)
    if task.parts_done >= task.parts_total and task.status == "in_progress":
        task.status = "failed" if task.error else "completed"
        task.finished_at = now
        log.info(
            "fetch task %s %s after %d parts: read %d, loaded %d, duplicate %d",
            task.id,
            task.status,
            task.parts_total,
            task.rows_read,
            task.rows_loaded,
            task.rows_duplicate,
        )
        shutil.rmtree(part_folder(task.id), ignore_errors=True)
    db.session.commit()
    return task.status


def unfinished_parts(task_id: int) -> list[int]:
    """Put a task's unfinished parts back to pending and return their numbers.

    Used when a task with parts is sent again because its workers went quiet.
    """
    numbers = list(
        db.session.scalars(
            db.select(FetchTaskPart.number).where(
                FetchTaskPart.task_id == task_id,
                FetchTaskPart.status.in_(("pending", "in_progress")),
            )
        )
    )
    db.session.execute(
        update(FetchTaskPart)
        .where(
            FetchTaskPart.task_id == task_id,
            FetchTaskPart.status == "in_progress",
        )
        .values(status="pending")
    )
    db.session.commit()
    return numbers
