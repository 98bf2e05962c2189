from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow

TASK_STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
ACTIVE_STATUSES = ("pending", "in_progress")
SOURCE_KINDS = ("json", "csv", "api")


class FetchTask(db.Model):
    """One fetch of sales records from a source into the ``sales`` table."""

    __tablename__ = "fetch_tasks"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')",
            name="status",
        ),
        CheckConstraint("source_kind IN ('json', 'csv', 'api')", name="source_kind"),
        Index("ix_fetch_tasks_owner_created", "owner_id", "created_at"),
        Index("ix_fetch_tasks_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    source_kind: Mapped[str] = mapped_column(String(8))
    # The validated source spec (see sources.spec). Secret header values are
    # stored here so the worker can send them, and never returned by the API.
    source_spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_loaded: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)
    rows_filtered: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    # Bytes of the source read so far and its size when known, for progress bars.
    bytes_read: Mapped[int] = mapped_column(default=0)
    bytes_total: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # A large file is loaded in parts by several workers (workers.parallel).
    # 0 means the task is loaded in one piece.
    parts_total: Mapped[int] = mapped_column(default=0, server_default="0")
    parts_done: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    owner = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<FetchTask {self.id} {self.name!r} {self.status}>"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress(self) -> float | None:
        """Share of the source read, from 0 to 1, or None when the size is unknown."""
        if self.status == "completed":
            return 1.0
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_read / self.bytes_total)

    def reset_for_run(self) -> None:
        """Put the task back to pending with zeroed counters, for a retry."""
        self.status = "pending"
        self.error = None
        self.warning = None
        self.rows_read = self.rows_loaded = self.rows_duplicate = 0
        self.rows_filtered = self.rows_rejected = 0
        self.bytes_read = 0
        self.bytes_total = None
        self.parts_total = self.parts_done = 0
        self.started_at = self.finished_at = self.heartbeat_at = None


class Upload(db.Model):
    """A file a user uploaded, kept on disk under the upload folder."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Upload {self.id} {self.filename!r} {self.size} bytes>"


class FetchTaskPart(db.Model):
    """One byte range of a large file, loaded by its own Celery task."""

    __tablename__ = "fetch_task_parts"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("fetch_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    path: Mapped[str] = mapped_column(String(1024))
    # File line of the part's first record, for rejected-row line numbers.
    first_line: Mapped[int]
    size: Mapped[int]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<FetchTaskPart {self.task_id}/{self.number} {self.status}>"
