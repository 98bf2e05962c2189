"""CSV reader: streams rows from a file with the standard ``csv`` module.

The file is decoded line by line (see ``sources.text``), the delimiter is detected
from the header line unless the spec sets it, and each row becomes a ``RawRecord``
keyed by the header names. A row whose field count differs from the header's is a
``Rejection``; the rest of the file is still read.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator

from sources.errors import SourceError
from sources.records import RawRecord, Rejection
from sources.spec import SourceSpec
from sources.stream import Item, RecordStream
from sources.text import decoded_lines

log = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"[^"]*"')


def open_csv(spec: SourceSpec, path: str) -> RecordStream:
    """Open the CSV file at ``path`` and return its record stream."""
    stream = RecordStream(spec.display_name)
    binary = stream.open_file(path)
    return stream.start(lambda progress: read_csv(progress, binary, spec))


def detect_delimiter(header_line: str) -> str:
    """Return the delimiter that occurs most often outside quotes in the header."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def header_names(fields: list[str], stream: RecordStream) -> list[str]:
    """Return trimmed, unique column names; blank and repeated names get a number."""
    names: list[str] = []
    seen: set[str] = set()
    for position, field in enumerate(fields, start=1):
        name = field.strip() or f"column_{position}"
        if name in seen:
            unique = f"{name}_{position}"
            stream.warnings.append(
                f"Column {position} repeats the name {name!r}, so it was read as "
                f"{unique!r}."
            )
            name = unique
        seen.add(name)
        names.append(name)
    return names


def read_csv(stream: RecordStream, binary, spec: SourceSpec) -> Iterator[Item]:
    """Yield the rows of a CSV file as records and rejections."""
    lines = decoded_lines(binary, spec.encoding, stream)
    first = next(lines, None)
    while first is not None and not first.strip():
        first = next(lines, None)
    if first is None:
        raise SourceError(
            f"{stream.source_name} is empty; a CSV source needs a header row "
            "and at least one data row."
        )
    delimiter = spec.delimiter or detect_delimiter(first)
    log.info("reading CSV %s with delimiter %r", stream.source_name, delimiter)

    consumed: list[str] = []
    reader = csv.reader(_tap(first, lines, consumed), delimiter=delimiter)
    try:
        header = header_names(next(reader), stream)
    except csv.Error as exc:
        raise SourceError(
            f"{stream.source_name}: the header row is not valid CSV ({exc})."
        ) from None
    consumed.clear()
    yield from _rows(stream, reader, header, consumed)


def _tap(first: str, lines: Iterator[str], consumed: list[str]) -> Iterator[str]:
    """Yield ``first`` then ``lines``, appending each line to ``consumed``."""
    consumed.append(first)
    yield first
    for line in lines:
        consumed.append(line)
        yield line


def _rows(
    stream: RecordStream,
    reader,
    header: list[str],
    consumed: list[str],
) -> Iterator[Item]:
    width = len(header)
    blank_rows = 0
    next_line = reader.line_num + 1
    try:
        for fields in reader:
            line_no = next_line
            next_line = reader.line_num + 1
            raw = consumed[0] if len(consumed) == 1 else "".join(consumed)
            consumed.clear()
            if len(fields) != width or not fields[0]:
                if not any(field.strip() for field in fields):
                    blank_rows += bool(fields)
                    continue
                if len(fields) != width:
                    reason = f"{len(fields)} fields, expected {width}"
                    yield Rejection(line_no, raw.rstrip("\r\n"), reason)
                    continue
            data = dict(zip(header, fields, strict=True))
            yield RawRecord(line_no, data, raw.rstrip("\r\n"))
    except csv.Error as exc:
        raise SourceError(
            f"{stream.source_name}: the row starting at line {next_line} is not "
            f"valid CSV ({exc}). Check the quotes in that row."
        ) from None
    if blank_rows:
        rows = "1 row" if blank_rows == 1 else f"{blank_rows} rows"
        stream.warnings.append(f"Skipped {rows} whose fields were all empty.")
