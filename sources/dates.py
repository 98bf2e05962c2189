"""Parsing of sale dates and times in the formats that sales exports use.

A parsed value is the local wall-clock time (naive) and the UTC offset in minutes
when the source gave one. The offset never moves the time: ``2023-01-01T23:30:00-05:00``
is 23:30 on January 1 with offset -300, so the sale counts on the day it happened
where it happened.

Recognised forms:

- ISO 8601 dates and date-times, with ``T`` or a space, fractions, ``Z`` or an offset.
- ``M/D/YYYY`` (US order; ``date_order='dmy'`` reads ``D/M/YYYY``) and ``YYYY/M/D``,
  with ``/`` or ``-``, optionally followed by a time with AM/PM.
- ``DD.MM.YYYY``, always day first, optionally followed by a time.
- JavaScript ``Date.toString()``: ``Tue Dec 16 2014 12:30:00 GMT-0800 (PST)``.
- RFC 2822: ``Tue, 16 Dec 2014 12:30:00 -0800``.
- Month names: ``16 Dec 2014``, ``December 16, 2014``.
- Unix time: 10 digits (seconds) or 13 digits (milliseconds), as text or a JSON
  number. Unix time has no local time, so it is read as UTC with offset 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

MIN_YEAR = 1900
MAX_YEAR = 2100

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_TIME = (
    r"(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_NUMERIC = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[/-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})" + _TIME + r"\Z"
)
_DOTTED = re.compile(
    r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})" + _TIME + r"\Z"
)
_JAVASCRIPT = re.compile(
    r"[A-Za-z]{3} (?P<month>[A-Za-z]{3}) (?P<day>\d{1,2}) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?: (?:GMT|UTC)(?P<offset>[+-]\d{4}))?(?: \([^)]*\))?\Z"
)
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3}, )?(?P<day>\d{1,2}) (?P<month>[A-Za-z]{3}) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r" (?P<offset>[+-]\d{4}|GMT|UTC|Z)\Z"
)
_DAY_MONTH_NAME = re.compile(
    r"(?P<day>\d{1,2})[ -](?P<month>[A-Za-z]{3,9})\.?[ -](?P<year>\d{4})"
    + _TIME
    + r"\Z"
)
_MONTH_NAME_DAY = re.compile(
    r"(?P<month>[A-Za-z]{3,9})\.? (?P<day>\d{1,2}),? (?P<year>\d{4})" + _TIME + r"\Z"
)
_UNIX_TIME = re.compile(r"\d{10}(?:\d{3})?\Z")

FORMAT_HINT = "use a date such as 2023-01-31, 1/31/2023 or 31.01.2023"


class DateProblem(ValueError):
    """A value is not a sale date. The message completes ``sale_date <value> ...``."""


def parse_sale_time(
    value: object, date_order: str = "auto"
) -> tuple[datetime, int | None]:
    """Return ``(local wall-clock time, UTC offset in minutes or None)`` for ``value``.

    ``date_order`` (auto, mdy, dmy or ymd) decides how ``1/2/2022`` reads; auto
    and mdy read it as January 2. Raise ``DateProblem`` for anything else.
    """
    if isinstance(value, bool):
        raise DateProblem(f"is not a date; {FORMAT_HINT}")
    if isinstance(value, int | Decimal):
        sold_at, offset = _from_unix_number(value)
    elif isinstance(value, datetime):
        sold_at, offset = _split_offset(value)
    elif isinstance(value, str):
        sold_at, offset = _parse_text(value.strip(), date_order)
    else:
        raise DateProblem(f"is not a date; {FORMAT_HINT}")
    if not MIN_YEAR <= sold_at.year <= MAX_YEAR:
        raise DateProblem(f"is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return sold_at, offset


def _parse_text(text: str, date_order: str) -> tuple[datetime, int | None]:
    if len(text) >= 8 and text[:4].isdigit() and text[4:5] == "-":
        try:
            return _split_offset(datetime.fromisoformat(text))
        except ValueError:
            pass
    for parse in (
        _parse_numeric,
        _parse_dotted,
        _parse_javascript,
        _parse_rfc2822,
        _parse_month_name,
    ):
        parsed = parse(text, date_order)
        if parsed is not None:
            return parsed
    if _UNIX_TIME.match(text):
        return _from_unix_number(int(text))
    if text[:8].isdigit():
        try:
            return _split_offset(datetime.fromisoformat(text))
        except ValueError:
            pass
    raise DateProblem(f"is not a date in a known format; {FORMAT_HINT}")


def _split_offset(moment: datetime) -> tuple[datetime, int | None]:
    offset = moment.utcoffset()
    if offset is None:
        return moment, None
    return moment.replace(tzinfo=None), int(offset.total_seconds() // 60)


def _from_unix_number(value: int | Decimal) -> tuple[datetime, int | None]:
    seconds = Decimal(value)
    if not seconds.is_finite():
        raise DateProblem(f"is not a date; {FORMAT_HINT}")
    if 1e12 <= seconds < 1e13:
        seconds = seconds / 1000
    elif not 1e9 <= seconds < 1e10:
        raise DateProblem(
            f"is a number but not a Unix time in seconds or milliseconds; {FORMAT_HINT}"
        )
    microseconds = int(seconds * 1_000_000)
    return datetime(1970, 1, 1) + timedelta(microseconds=microseconds), 0


def _build(year: int, month: int, day: int, match: re.Match) -> datetime:
    groups = match.groupdict()
    hour = int(groups.get("hour") or 0)
    minute = int(groups.get("minute") or 0)
    second = int(groups.get("second") or 0)
    fraction = groups.get("fraction") or ""
    microsecond = int(fraction.ljust(6, "0")) if fraction else 0
    ampm = (groups.get("ampm") or "").lower()[:1]
    if ampm:
        if not 1 <= hour <= 12:
            raise DateProblem(f"has hour {hour} with {groups['ampm']}")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, microsecond)
    except ValueError as exc:
        raise DateProblem(f"is not a valid date ({exc})") from None


def guess_date_order(values: Iterable[object]) -> str | None:
    """Decide from a sample whether dates such as ``03/04/2023`` put the day first.

    Return "dmy" when some date has a first number above 12 (``15/02/2024``) and
    none has a second number above 12, "mdy" in the opposite case, and None when
    the sample cannot tell or holds both kinds.
    """
    day_first = month_first = False
    for value in values:
        if not isinstance(value, str):
            continue
        match = _NUMERIC.match(value.strip())
        if match is None or len(match["c"]) != 4:
            continue
        first, second = int(match["a"]), int(match["b"])
        day_first |= first > 12 >= second
        month_first |= second > 12 >= first
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    return None


def _parse_numeric(text: str, date_order: str) -> tuple[datetime, int | None] | None:
    match = _NUMERIC.match(text)
    if match is None:
        return None
    a, b, c = match["a"], match["b"], match["c"]
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    elif len(c) == 4:
        first, second = int(a), int(b)
        day_first = date_order == "dmy"
        month, day = (second, first) if day_first else (first, second)
        year = int(c)
        if month > 12 and not day_first and day <= 12:
            raise DateProblem(
                "is not a valid month/day/year date; if the file writes the day "
                "first, set the date order to dmy"
            )
    else:
        raise DateProblem(f"has no 4-digit year; {FORMAT_HINT}")
    return _build(year, month, day, match), None


def _parse_dotted(text: str, date_order: str) -> tuple[datetime, int | None] | None:
    match = _DOTTED.match(text)
    if match is None:
        return None
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    return _build(year, month, day, match), None


def _month_number(name: str) -> int:
    month = MONTHS.get(name.lower())
    if month is None:
        raise DateProblem(f"has an unknown month name {name!r}")
    return month


def _offset_minutes(offset: str | None) -> int | None:
    if offset is None:
        return None
    if offset in ("GMT", "UTC", "Z"):
        return 0
    sign = -1 if offset[0] == "-" else 1
    return sign * (int(offset[1:3]) * 60 + int(offset[3:5]))


def _parse_javascript(text: str, date_order: str) -> tuple[datetime, int | None] | None:
    match = _JAVASCRIPT.match(text)
    if match is None:
        return None
    month = _month_number(match["month"])
    moment = _build(int(match["year"]), month, int(match["day"]), match)
    return moment, _offset_minutes(match["offset"])


def _parse_rfc2822(text: str, date_order: str) -> tuple[datetime, int | None] | None:
    match = _RFC2822.match(text)
    if match is None:
        return None
    month = _month_number(match["month"])
    moment = _build(int(match["year"]), month, int(match["day"]), match)
    return moment, _offset_minutes(match["offset"])


def _parse_month_name(text: str, date_order: str) -> tuple[datetime, int | None] | None:
    match = _DAY_MONTH_NAME.match(text) or _MONTH_NAME_DAY.match(text)
    if match is None:
        return None
    month = _month_number(match["month"])
    return _build(int(match["year"]), month, int(match["day"]), match), None
