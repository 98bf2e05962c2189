"""Source readers: turn CSV files, JSON files and HTTP APIs into sale records.

The worker opens a source with ``open_records``, normalises each raw record with
a ``Normalizer`` and keys it with ``record_key``. Nothing here knows about Flask,
Celery or the database.
"""

from __future__ import annotations

from sources import api_source, csv_source, json_source
from sources.errors import SourceError
from sources.http import HttpSettings
from sources.normalize import Normalizer, record_key
from sources.spec import SourceSpec
from sources.stream import RecordStream

__all__ = [
    "HttpSettings",
    "Normalizer",
    "RecordStream",
    "SourceError",
    "open_records",
    "record_key",
]


def open_records(
    spec: SourceSpec,
    upload_path: str | None = None,
    http: HttpSettings | None = None,
) -> RecordStream:
    """Open the source of ``spec`` and return a stream of its records.

    ``upload_path`` is the stored file of an upload and takes the place of
    ``spec.path``. ``http`` governs URL sources (defaults when None). Raise
    ``SourceError`` when the source cannot be opened.
    """
    settings = http or HttpSettings()
    if spec.kind == "csv":
        return csv_source.open_csv(spec, _local_path(spec, upload_path))
    if spec.kind == "json":
        if spec.url and not upload_path:
            return json_source.open_json_url(spec, settings)
        return json_source.open_json_file(spec, _local_path(spec, upload_path))
    if spec.kind == "api":
        return api_source.open_api(spec, settings)
    raise SourceError(f"Unknown source kind {spec.kind!r}; use csv, json or api.")


def _local_path(spec: SourceSpec, upload_path: str | None) -> str:
    path = upload_path or spec.path
    if not path:
        raise SourceError(
            f"The {spec.kind} source has no file. "
            "Give a stored file path or upload one."
        )
    return path
