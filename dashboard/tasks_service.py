"""Fetch task operations for the web side: visibility, creation and retry.

Both the REST API and the Dash pages go through these functions, so the rules
(ownership, validation before queueing, commit before enqueue) live in one place.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from dashboard.queue import enqueue_fetch
from models import ApiToken, FetchTask, RejectedRow, Upload, User, db
from sources.errors import SpecError
from sources.spec import parse_filters, parse_source_spec

log = logging.getLogger(__name__)

STORED_FILE_SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".ndjson": "json",
    ".jsonl": "json",
}
UPLOAD_CHUNK = 1024 * 1024
NAME_LIMIT = 200


class TaskStateError(Exception):
    """A task is in a state that does not allow the requested change."""


def visible_tasks(user: User, limit: int = 200) -> list[FetchTask]:
    """Return the tasks ``user`` may see, newest first: their own, or all for admins."""
    query = db.select(FetchTask).order_by(
        FetchTask.created_at.desc(), FetchTask.id.desc()
    )
    if not user.is_admin:
        query = query.where(FetchTask.owner_id == user.id)
    return list(db.session.execute(query.limit(limit)).scalars())


def get_task(user: User, task_id: int) -> FetchTask | None:
    """Return the task, or None when it does not exist or ``user`` may not see it."""
    task = db.session.get(FetchTask, task_id)
    if task is None:
        return None
    if task.owner_id != user.id and not user.is_admin:
        return None
    return task


def _check_writer(user: User) -> None:
    if not user.can_write:
        raise PermissionError(
            f"user {user.username!r} has the viewer role and cannot run tasks"
        )


def _check_upload(user: User, upload_id: str) -> Upload:
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.owner_id != user.id:
        raise SpecError(
            "source.upload_id", f"upload {upload_id!r} not found; upload the file again"
        )
    if not Path(upload.stored_path).is_file():
        raise SpecError(
            "source.upload_id",
            f"upload {upload_id!r} is no longer on disk; upload the file again",
        )
    return upload


def create_task(
    user: User, name: str, source: dict[str, Any], filters: dict[str, Any] | None
) -> FetchTask:
    """Validate a task, store it as pending, then queue it.

    Raise ``SpecError`` naming the bad field, and queue nothing, when the name,
    source or filters are invalid.
    """
    _check_writer(user)
    if name is not None and not isinstance(name, str):
        raise SpecError("name", "must be a string; give the task a name")
    if not name or not name.strip():
        raise SpecError("name", "is required; give the task a name")
    if any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in name):
        raise SpecError(
            "name", "contains control or invalid characters; use plain text"
        )
    if len(name.strip()) > NAME_LIMIT:
        raise SpecError(
            "name", f"is {len(name.strip())} characters; use at most {NAME_LIMIT}"
        )
    config = current_app.config
    spec = parse_source_spec(
        source,
        data_dirs=config["DATA_DIRS"],
        allowed_networks=config["HTTP_ALLOWED_NETWORKS"],
    )
    parsed_filters = parse_filters(filters)
    if spec.upload_id:
        spec.upload_name = _check_upload(user, spec.upload_id).filename

    task = FetchTask(
        owner_id=user.id,
        name=name.strip(),
        source_kind=spec.kind,
        source_spec=spec.to_dict(),
        filters=parsed_filters.to_dict(),
        status="pending",
    )
    db.session.add(task)
    db.session.commit()
    log.info("user %s created fetch task %s (%s)", user.id, task.id, spec.kind)
    _enqueue(task)
    return task


def _enqueue(task: FetchTask) -> None:
    try:
        enqueue_fetch(current_app._get_current_object(), task.id)
    except Exception:  # noqa: BLE001 - the stale-task sweep sends it again
        task.warning = "The queue was unreachable; the task will be sent again shortly."
        db.session.commit()


def retry_task(user: User, task: FetchTask) -> FetchTask:
    """Run a finished or failed task again. Rows already loaded count as duplicates."""
    _check_writer(user)
    if task.is_active:
        raise TaskStateError(f"task {task.id} is {task.status}; wait for it to finish")
    # Only one of several simultaneous retries may move the task to pending.
    moved = db.session.execute(
        db.update(FetchTask)
        .where(
            FetchTask.id == task.id, FetchTask.status.notin_(("pending", "in_progress"))
        )
        .values(status="pending")
    ).rowcount
    if not moved:
        db.session.rollback()
        raise TaskStateError(f"task {task.id} is already queued; wait for it to finish")
    db.session.refresh(task)
    task.reset_for_run()
    db.session.commit()
    log.info("user %s retried fetch task %s", user.id, task.id)
    _enqueue(task)
    return task


def save_upload(user: User, file: FileStorage) -> Upload:
    """Stream an uploaded file to the upload folder and record it."""
    _check_writer(user)
    filename = Path(file.filename or "").name
    if not filename:
        raise SpecError(
            "file", "is missing; send the file in the multipart field 'file'"
        )
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    upload_id = uuid.uuid4().hex
    target = folder / f"{upload_id}{Path(filename).suffix.lower()[:10]}"
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as out:
        while chunk := file.stream.read(UPLOAD_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise SpecError("file", f"{filename!r} is empty; choose a file with data")
    upload = Upload(
        id=upload_id,
        owner_id=user.id,
        filename=filename[:255],
        stored_path=str(target),
        size=size,
        sha256=digest.hexdigest(),
    )
    db.session.add(upload)
    db.session.commit()
    log.info("user %s uploaded %s (%d bytes) as %s", user.id, filename, size, upload_id)
    return upload


def rejected_sample(task: FetchTask, limit: int = 50) -> list[RejectedRow]:
    """Return the first rejected rows of ``task`` in source order."""
    query = (
        db.select(RejectedRow)
        .where(RejectedRow.task_id == task.id)
        .order_by(RejectedRow.line_no, RejectedRow.id)
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def task_dict(task: FetchTask) -> dict[str, Any]:
    """Return the task as the API shows it. Secret header values are masked."""
    from sources.spec import SourceSpec

    spec = SourceSpec.from_dict(task.source_spec)
    public = spec.public_dict()
    if public.get("path"):
        public["path"] = Path(public["path"]).name
    return {
        "id": task.id,
        "name": task.name,
        "owner": task.owner.username if task.owner else None,
        "status": task.status,
        "error": task.error,
        "warning": task.warning,
        "source_kind": task.source_kind,
        "source_name": spec.display_name,
        "source": public,
        "filters": task.filters or {},
        "rows_read": task.rows_read,
        "rows_loaded": task.rows_loaded,
        "rows_duplicate": task.rows_duplicate,
        "rows_filtered": task.rows_filtered,
        "rows_rejected": task.rows_rejected,
        "progress": task.progress,
        "created_at": _iso(task.created_at),
        "started_at": _iso(task.started_at),
        "finished_at": _iso(task.finished_at),
    }


def stored_files(data_dirs: list[str]) -> list[dict[str, Any]]:
    """List the CSV and JSON files in the data folders, for the stored-file picker."""
    files = []
    for folder in data_dirs:
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            kind = STORED_FILE_SUFFIXES.get(path.suffix.lower())
            if kind is None or not path.is_file():
                continue
            files.append(
                {
                    "path": f"{root.name}/{path.relative_to(root).as_posix()}",
                    "name": path.relative_to(root).as_posix(),
                    "kind": kind,
                    "size": path.stat().st_size,
                }
            )
    return files


def demo_feed_source(user: User, base_url: str) -> dict[str, Any]:
    """Return an API source for this app's demo live feed, signed with a new token."""
    token_row, token = ApiToken.issue(user)
    db.session.add(token_row)
    db.session.commit()
    return {
        "kind": "api",
        "url": base_url.rstrip("/") + "/api/v1/demo/feed",
        "params": {"per_page": "1000"},
        "headers": {"Authorization": f"Bearer {token}"},
        "records_path": "data",
        "pagination": {"style": "next", "next_path": "next", "max_pages": 50},
    }
