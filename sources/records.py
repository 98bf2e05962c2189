"""The values that flow from a source reader through normalisation to the loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Raw text kept on a rejected row is cut to this many characters.
RAW_TEXT_LIMIT = 1000


@dataclass(slots=True)
class RawRecord:
    """One record as a source reader found it, before any parsing.

    ``line_no`` is the line on which the record starts (the header is line 1) for
    files, or the record's 1-based position for HTTP APIs. ``data`` maps column or
    key names to values: strings for CSV, JSON values for JSON.
    """

    line_no: int | None
    data: dict[str, Any]
    raw: str


@dataclass(slots=True)
class Rejection:
    """A record that cannot be loaded, with a reason a person can act on."""

    line_no: int | None
    raw: str
    reason: str

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_TEXT_LIMIT:
            self.raw = self.raw[:RAW_TEXT_LIMIT] + "…"
        if "\x00" in self.raw:
            # PostgreSQL text cannot hold NUL, so it is kept as an escape.
            self.raw = self.raw.replace("\x00", "\\x00")


@dataclass(slots=True)
class SaleRecord:
    """One normalised sale, ready to store."""

    company: str
    car_model: str
    sold_at: datetime  # local wall-clock time, naive
    sale_date: date  # the local calendar day; an offset never moves it
    price: Decimal  # exactly 2 decimal places
    utc_offset_minutes: int | None = None
    source_record_id: str | None = None
    currency: str | None = None
    line_no: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
