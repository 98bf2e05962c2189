"""Helpers for reading a source end to end in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sources import HttpSettings, Normalizer, open_records, record_key
from sources.records import Rejection, SaleRecord
from sources.spec import SourceSpec

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "fixtures" / "cases"
REAL = ROOT / "data" / "real"
# Real files that cannot load as sales (no price, or no sale date); the readers
# are still tested on them.
REAL_OTHER = ROOT / "tests" / "fixtures" / "real"


@dataclass
class Outcome:
    """Everything one read of a source produced."""

    records: list[SaleRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    bytes_read: int = 0
    bytes_total: int | None = None

    def by_id(self) -> dict[str, SaleRecord]:
        return {record.source_record_id: record for record in self.records}

    def rejection_at(self, line_no: int) -> Rejection:
        matches = [item for item in self.rejections if item.line_no == line_no]
        assert len(matches) == 1, self.rejections
        return matches[0]


def read_source(
    spec: SourceSpec,
    upload_path: str | None = None,
    http: HttpSettings | None = None,
    identity: str = "test-source",
) -> Outcome:
    """Read and normalise every record of ``spec`` the way the worker does."""
    outcome = Outcome()
    with open_records(spec, upload_path=upload_path, http=http) as stream:
        normalizer = Normalizer(spec)
        for item in stream:
            raw = item
            if not isinstance(item, Rejection):
                item = normalizer.normalize(raw)
            if isinstance(item, Rejection):
                outcome.rejections.append(item)
            else:
                outcome.records.append(item)
                outcome.keys.append(record_key(identity, item, raw))
        outcome.warnings = list(stream.warnings)
        outcome.bytes_read = stream.bytes_read
        outcome.bytes_total = stream.bytes_total
    return outcome


def csv_spec(name: str | Path, **options) -> SourceSpec:
    """Return a CSV spec for a field case file name or an absolute path."""
    path = Path(name) if Path(name).is_absolute() else CASES / name
    return SourceSpec(kind="csv", path=str(path), **options)


def json_spec(name: str | Path, **options) -> SourceSpec:
    """Return a JSON spec for a field case file name or an absolute path."""
    path = Path(name) if Path(name).is_absolute() else CASES / name
    return SourceSpec(kind="json", path=str(path), **options)
