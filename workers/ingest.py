"""Run one fetch task: claim it, stream its source in batches, record the outcome.

The task row is the truth about a fetch. A worker claims a pending row with a
conditional UPDATE, so two deliveries of the same message never run it twice, and
updates counters and a heartbeat with every batch it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import update

from dashboard.queue import FETCH_PART
from models import FetchTask, Upload, db
from models.base import utcnow
from sources import HttpSettings, Normalizer, open_records, record_key
from sources.columnar import ColumnBatch, ColumnStream, open_csv_columns
from sources.dates import guess_date_order
from sources.errors import SourceError
from sources.records import RawRecord, Rejection, SaleRecord
from sources.spec import Filters, SourceSpec
from workers.heartbeat import Heartbeat
from workers.loader import BatchTarget, insert_rejections, store_batch, store_columns
from workers.parallel import (
    claim_part,
    finish_part,
    should_split,
    split_task,
    unfinished_parts,
)

log = logging.getLogger(__name__)


@dataclass
class Counters:
    read: int = 0
    loaded: int = 0
    duplicate: int = 0
    filtered: int = 0
    rejected: int = 0


@dataclass
class Batch:
    """Records waiting for the next commit, with repeats within the batch dropped."""

    keyed: dict[str, SaleRecord] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    repeats: int = 0

    def __len__(self) -> int:
        return len(self.keyed) + len(self.rejections) + self.repeats


def http_settings() -> HttpSettings:
    config = current_app.config
    return HttpSettings(
        timeout=config["HTTP_TIMEOUT"],
        max_bytes=config["HTTP_MAX_BYTES"],
        max_pages=config["HTTP_MAX_PAGES"],
        retries=config["HTTP_RETRIES"],
        backoff=config["HTTP_BACKOFF"],
        allowed_networks=config["HTTP_ALLOWED_NETWORKS"],
    )


def record_filter(filters: Filters) -> Callable[[SaleRecord], bool]:
    """Return a test that is true when a record passes the sourcing filters.

    The wanted names are case-folded into sets once, so a long company list
    costs one set lookup per record.
    """
    companies = {name.casefold() for name in filters.companies}
    models = {name.casefold() for name in filters.models}
    date_from, date_to = filters.date_from, filters.date_to

    def passes(record: SaleRecord) -> bool:
        if date_from and record.sale_date < date_from:
            return False
        if date_to and record.sale_date > date_to:
            return False
        if companies and record.company.casefold() not in companies:
            return False
        return not models or record.car_model.casefold() in models

    return passes


def matches(filters: Filters, record: SaleRecord) -> bool:
    """True when ``record`` passes the task's sourcing filters."""
    return record_filter(filters)(record)


def source_identity(spec: SourceSpec, upload: Upload | None) -> str:
    """Name the source for record keys: the same file or URL gives the same keys.

    A file is named by its file name, whether it is stored or uploaded, so the
    records of ``sales.csv`` keep their keys when the file is uploaded again or
    grows new rows.
    """
    if upload is not None:
        return f"{spec.kind}:file:{Path(upload.filename).name}"
    if spec.path:
        return f"{spec.kind}:file:{Path(spec.path).name}"
    return f"{spec.kind}:url:{spec.url}"


def claim(task_id: int) -> FetchTask | None:
    """Mark a pending task in progress and return it, or None if it is not runnable.

    A task already in progress is taken over only when its heartbeat is stale,
    which happens when a worker died and the broker delivered the message again.
    """
    now = utcnow()
    stale_before = now - timedelta(seconds=current_app.config["TASK_STALE_AFTER"])
    statement = (
        update(FetchTask)
        .where(FetchTask.id == task_id)
        .where(
            (FetchTask.status == "pending")
            | (
                (FetchTask.status == "in_progress")
                & (FetchTask.heartbeat_at < stale_before)
            )
        )
        .values(
            status="in_progress",
            started_at=now,
            heartbeat_at=now,
            attempts=FetchTask.attempts + 1,
        )
    )
    claimed = db.session.execute(statement).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.get(FetchTask, task_id)


def run_fetch(task_id: int) -> str:
    """Run fetch task ``task_id`` to completion or failure and return its status."""
    task = claim(task_id)
    if task is None:
        current = db.session.get(FetchTask, task_id)
        state = current.status if current else "missing"
        log.info("fetch task %s not claimed: it is %s", task_id, state)
        return state

    log.info("fetch task %s started: %s from %s", task.id, task.name, task.source_kind)
    # Rows from an earlier, interrupted attempt stay; re-reading them counts
    # them as duplicates, so counters restart from zero.
    counters = Counters()
    try:
        with Heartbeat(db.engine, task.id, _beat_interval()):
            if _dispatch_parts(task):
                return task.status
            warnings = _load(task, counters)
    except SourceError as exc:
        _finish(task, counters, "failed", error=str(exc))
        log.warning("fetch task %s failed: %s", task.id, exc)
    except SoftTimeLimitExceeded:
        limit = current_app.config["TASK_TIME_LIMIT"]
        _finish(
            task,
            counters,
            "failed",
            error=f"The fetch took longer than the {limit} s limit and was stopped; "
            "rows loaded so far are kept. Split the source or raise "
            "FORECOURT_TASK_TIME_LIMIT.",
        )
        log.warning("fetch task %s stopped at the time limit", task.id)
    except Exception as exc:
        db.session.rollback()
        _finish(
            task,
            counters,
            "failed",
            error=f"Internal error while loading ({exc.__class__.__name__}); "
            "rows loaded so far are kept. The worker log has the details.",
        )
        log.exception("fetch task %s crashed", task.id)
        raise
    else:
        warnings = [*warnings, *_empty_result_warning(counters)]
        _finish(task, counters, "completed", warning="; ".join(warnings) or None)
        log.info(
            "fetch task %s completed: read %d, loaded %d, duplicate %d, "
            "filtered %d, rejected %d",
            task.id,
            counters.read,
            counters.loaded,
            counters.duplicate,
            counters.filtered,
            counters.rejected,
        )
    return task.status


def _beat_interval() -> float:
    return max(5.0, current_app.config["TASK_STALE_AFTER"] / 4)


def _send_part(task_id: int, number: int) -> None:
    celery = current_app.extensions["celery"]
    celery.send_task(FETCH_PART, args=[task_id, number])


def _dispatch_parts(task: FetchTask) -> bool:
    """Queue the parts of a large file; True when parts load the task instead.

    A task that already has parts was sent again because its part workers went
    quiet: only its unfinished parts are queued again.
    """
    if task.parts_total:
        for number in unfinished_parts(task.id):
            _send_part(task.id, number)
        return True
    if not should_split(task):
        return False
    spec = SourceSpec.from_dict(task.source_spec)
    if spec.date_order == "auto" and spec.kind == "csv":
        # Every part must read numeric dates in the order a whole-file load
        # would use, so the order is settled once, on the whole file.
        upload = db.session.get(Upload, spec.upload_id) if spec.upload_id else None
        notes = _settle_date_order(spec, upload.stored_path if upload else None)
        decided = dict(task.source_spec, date_order=spec.date_order)
        if decided["date_order"] == "auto":
            decided["date_order"] = "mdy"
        task.source_spec = decided
        task.warning = notes[0] if notes else None
    return split_task(task, _send_part)


def run_part(task_id: int, number: int) -> str:
    """Load part ``number`` of a task's file; return the task's status after it."""
    part_task = claim_part(task_id, number)
    if part_task is None:
        log.info("part %s of fetch task %s not claimed", number, task_id)
        return "skipped"
    log.info("fetch task %s part %s started", task_id, number)
    counters = Counters()
    error = None
    try:
        with Heartbeat(db.engine, task_id, _beat_interval()):
            part_task.warnings = _load(part_task, counters)
    except SourceError as exc:
        error = str(exc)
    except SoftTimeLimitExceeded:
        error = "The part took longer than the task time limit and was stopped."
    except Exception as exc:
        log.exception("part %s of fetch task %s crashed", number, task_id)
        error = (
            f"Internal error while loading ({exc.__class__.__name__}); "
            "the worker log has the details."
        )
    _write_counters(part_task, counters)
    return finish_part(part_task, number, _clip(error, []))


def _load(task: FetchTask, counters: Counters) -> list[str]:
    spec = SourceSpec.from_dict(task.source_spec)
    filters = Filters.from_dict(task.filters)
    upload = db.session.get(Upload, spec.upload_id) if spec.upload_id else None
    if spec.upload_id and upload is None:
        raise SourceError(
            f"Upload {spec.upload_id} no longer exists; upload the file again."
        )
    identity = source_identity(spec, upload)
    target = BatchTarget(
        owner_id=task.owner_id,
        task_id=task.id,
        source_kind=spec.kind,
        source_name=(upload.filename if upload else spec.display_name)[:255],
    )
    batch_size = current_app.config["INGEST_BATCH_SIZE"]
    upload_path = upload.stored_path if upload else None
    notes = _settle_date_order(spec, upload_path)
    normalizer = Normalizer(spec)

    path = upload_path or spec.path
    if spec.kind == "csv" and path:
        columns = open_csv_columns(spec, path, normalizer, identity)
        if columns is not None:
            with columns:
                return notes + _load_columns(task, target, filters, columns, counters)

    with open_records(spec, upload_path=upload_path, http=http_settings()) as stream:
        batch = Batch()
        passes = record_filter(filters)
        for item in stream:
            counters.read += 1
            raw = item
            if not isinstance(item, Rejection):
                item = normalizer.normalize(raw)
            if isinstance(item, Rejection):
                batch.rejections.append(item)
            elif not passes(item):
                counters.filtered += 1
            else:
                key = record_key(identity, item, raw)
                if key in batch.keyed:
                    batch.repeats += 1
                else:
                    batch.keyed[key] = item
            if len(batch) >= batch_size:
                _commit_batch(task, target, batch, counters, stream)
                batch = Batch()
        _commit_batch(task, target, batch, counters, stream)
        return notes + list(stream.warnings)


def _commit_batch(task, target, batch: Batch, counters: Counters, stream) -> None:
    loaded = store_batch(db.session, target, list(batch.keyed.items()))
    _shift_lines(task, batch.rejections)
    insert_rejections(db.session, task.id, batch.rejections)
    counters.loaded += loaded
    counters.duplicate += len(batch.keyed) - loaded + batch.repeats
    counters.rejected += len(batch.rejections)
    _write_counters(task, counters)
    task.bytes_read = stream.bytes_read or 0
    task.bytes_total = stream.bytes_total
    task.heartbeat_at = utcnow()
    db.session.commit()


DATE_SAMPLE = 5000


def _settle_date_order(spec: SourceSpec, upload_path: str | None) -> list[str]:
    """Read the first records of a CSV file and fix the order of numeric dates.

    With ``date_order`` auto, a row-by-row reading would take ``12/03/2024`` as
    December 3 in a file whose other rows are clearly day first. Deciding once
    from a sample keeps every row of a file in the same order. JSON and API
    sources are not read twice, because their dates are nearly always ISO. Their
    numeric dates are read month first unless the spec sets the order. Returns
    notes for the task's warning.
    """
    if spec.date_order != "auto" or spec.kind != "csv":
        return []
    normalizer = Normalizer(spec)
    values = []
    with open_records(spec, upload_path=upload_path) as stream:
        for item in stream:
            if isinstance(item, RawRecord):
                values.append(normalizer.sale_date_value(item))
            if len(values) >= DATE_SAMPLE:
                break
    order = guess_date_order(values)
    if order == "dmy":
        spec.date_order = "dmy"
        return [
            "Dates such as 15/02/2024 put the day first, so all dates were "
            "read day first."
        ]
    return []


def _load_columns(
    task: FetchTask,
    target: BatchTarget,
    filters: Filters,
    stream: ColumnStream,
    counters: Counters,
) -> list[str]:
    """Load a CSV file through the columnar fast path, one commit per chunk."""
    log.info("fetch task %s reads %s in columns", task.id, stream.source_name)
    for batch in stream:
        _commit_columns(task, target, filters, batch, counters, stream)
    # Like the record path's last commit: the final progress, even for no rows.
    _commit_columns(task, target, filters, None, counters, stream)
    return list(stream.warnings)


def _commit_columns(
    task: FetchTask,
    target: BatchTarget,
    filters: Filters,
    batch: ColumnBatch | None,
    counters: Counters,
    stream: ColumnStream,
) -> None:
    if batch is not None:
        counters.read += batch.rows_read
        sales = batch.sales
        kept = filter_columns(filters, sales)
        counters.filtered += sales.num_rows - kept.num_rows
        unique = first_of_each_key(kept)
        loaded = store_columns(db.session, target, unique)
        _shift_lines(task, batch.rejections)
        insert_rejections(db.session, task.id, batch.rejections)
        counters.loaded += loaded
        counters.duplicate += kept.num_rows - loaded
        counters.rejected += len(batch.rejections)
    _write_counters(task, counters)
    task.bytes_read = batch.bytes_read if batch else stream.bytes_read
    task.bytes_total = stream.bytes_total
    task.heartbeat_at = utcnow()
    db.session.commit()


def filter_columns(filters: Filters, sales: pa.Table) -> pa.Table:
    """Return the rows of ``sales`` that pass the sourcing filters, as ``matches``.

    Sale dates are ISO text, so comparing the text compares the dates.
    """
    keep = np.ones(sales.num_rows, dtype=bool)
    day = sales.column("sale_date")
    if filters.date_from:
        keep &= _mask(pc.greater_equal(day, filters.date_from.isoformat()))
    if filters.date_to:
        keep &= _mask(pc.less_equal(day, filters.date_to.isoformat()))
    if filters.companies:
        keep &= _names_in(sales.column("company"), filters.companies)
    if filters.models:
        keep &= _names_in(sales.column("car_model"), filters.models)
    if keep.all():
        return sales
    return sales.filter(pa.array(keep))


def _names_in(column: pa.ChunkedArray, names: list[str]) -> np.ndarray:
    """Mark the values equal to one of ``names`` ignoring case, as ``matches`` does."""
    wanted = {name.casefold() for name in names}
    encoded = pc.dictionary_encode(column).combine_chunks()
    found = np.array(
        [value.casefold() in wanted for value in encoded.dictionary.to_pylist()],
        dtype=bool,
    )
    return found[_mask(encoded.indices)] if found.size else np.zeros(0, dtype=bool)


def _mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.to_numpy(zero_copy_only=False)


def first_of_each_key(sales: pa.Table) -> pa.Table:
    """Keep the first row of each record key in ``sales``, in table order."""
    keys = sales.column("record_key")
    if pc.count_distinct(keys).as_py() == sales.num_rows:
        return sales
    positions = pa.array(np.arange(sales.num_rows))
    first = (
        pa.table({"record_key": keys, "position": positions})
        .group_by("record_key", use_threads=False)
        .aggregate([("position", "min")])
        .column("position_min")
    )
    return sales.take(pa.array(np.sort(_mask(first))))


def _empty_result_warning(counters: Counters) -> list[str]:
    """Say why a completed fetch added nothing, when nothing else explains it."""
    if counters.loaded or counters.duplicate or counters.filtered:
        return []
    if counters.read == 0:
        return ["The source held no records."]
    return [
        f"No rows were loaded: all {counters.read:,} rows were rejected. "
        "The rejected rows below give the reasons."
    ]


def _shift_lines(task, rejections: list[Rejection]) -> None:
    """Turn line numbers of a part file into line numbers of the whole file."""
    offset = getattr(task, "line_offset", 0)
    if offset:
        for item in rejections:
            if item.line_no is not None:
                item.line_no += offset


def _write_counters(task: FetchTask, counters: Counters) -> None:
    task.rows_read = counters.read
    task.rows_loaded = counters.loaded
    task.rows_duplicate = counters.duplicate
    task.rows_filtered = counters.filtered
    task.rows_rejected = counters.rejected


MESSAGE_LIMIT = 4000


def _clip(text: str | None, secrets: list[str]) -> str | None:
    """Mask secret header values in a message and cut it to ``MESSAGE_LIMIT``.

    A source server may repeat a request header in its error body, and the body
    snippet is part of the error.
    """
    if not text:
        return text
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "********")
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    return text


def _secret_values(task: FetchTask) -> list[str]:
    headers = (task.source_spec or {}).get("headers") or {}
    values = []
    for value in headers.values():
        values.append(str(value))
        # "Bearer abc": the token alone may appear in a message too.
        values.extend(part for part in str(value).split() if len(part) >= 8)
    return values


def _finish(task, counters: Counters, status: str, error=None, warning=None) -> None:
    db.session.rollback()
    task = db.session.get(FetchTask, task.id)
    secrets = _secret_values(task)
    _write_counters(task, counters)
    task.status = status
    task.error = _clip(error, secrets)
    task.warning = _clip(warning, secrets)
    task.finished_at = utcnow()
    task.heartbeat_at = task.finished_at
    db.session.commit()


def requeue_stale(send) -> list[int]:
    """Find tasks a lost message or a dead worker left behind and send them again.

    ``send(task_id)`` enqueues one task. Returns the ids sent.
    """
    now = utcnow()
    stale_before = now - timedelta(seconds=current_app.config["TASK_STALE_AFTER"])
    query = db.select(FetchTask.id).where(
        ((FetchTask.status == "pending") & (FetchTask.created_at < stale_before))
        | (
            (FetchTask.status == "in_progress")
            & (FetchTask.heartbeat_at < stale_before)
        )
    )
    task_ids = list(db.session.execute(query).scalars())
    for task_id in task_ids:
        log.warning("re-sending stale fetch task %s", task_id)
        send(task_id)
    return task_ids
