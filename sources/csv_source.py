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

from sources.errors import SourceError, clip_text
from sources.records import RawRecord, Rejection
from sources.spec import SourceSpec
from sources.stream import Item, RecordStream
from sources.text import decoded_lines

log = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
# A wider header is taken for a wrong delimiter or a file that is not a table.
MAX_COLUMNS = 10_000
# Repeated column names listed by name in the warning; the rest are counted.
REPEAT_EXAMPLES = 5
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


def check_header_width(count: int, source_name: str) -> None:
    """Raise ``SourceError`` when a header of ``count`` columns is too wide."""
    if count <= MAX_COLUMNS:
        return
    raise SourceError(
        f"{source_name}: the header row has {count:,} columns, more than the limit "
        f"of {MAX_COLUMNS:,}. Check that the first row is the header and that the "
        "delimiter is right."
    )


def header_names(fields: list[str], stream: RecordStream) -> list[str]:
    """Return trimmed, unique column names; blank and repeated names get a number.

    Raise ``SourceError`` for more than ``MAX_COLUMNS`` columns. Repeated names
    add one warning to ``stream`` that counts them and names a few.
    """
    check_header_width(len(fields), stream.source_name)
    names: list[str] = []
    seen: set[str] = set()
    repeats: dict[str, str] = {}
    repeat_count = 0
    for position, field in enumerate(fields, start=1):
        name = field.strip() or f"column_{position}"
        if name in seen:
            unique = f"{name}_{position}"
            repeat_count += 1
            repeats.setdefault(name, unique)
            name = unique
        seen.add(name)
        names.append(name)
    if repeat_count:
        stream.warnings.append(_repeat_warning(repeat_count, repeats))
    return names


def _repeat_warning(count: int, repeats: dict[str, str]) -> str:
    """Describe ``count`` repeated column names, naming a few of ``repeats``."""
    examples = list(repeats)[:REPEAT_EXAMPLES]
    shown = ", ".join(repr(clip_text(name, 40)) for name in examples)
    if len(repeats) > REPEAT_EXAMPLES:
        shown += ", ..."
    name = examples[0]
    unique = repeats[name]
    columns = (
        "1 column repeats a name" if count == 1 else f"{count:,} columns repeat names"
    )
    return clip_text(
        f"{columns} ({shown}), so each repeat was read with its column number "
        f"added, such as {clip_text(unique, 40)!r} for {clip_text(name, 40)!r}."
    )


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
    # Counted before parsing, so a header of millions of columns is never split.
    unquoted_delimiters = _QUOTED.sub("", first).count(delimiter)
    check_header_width(unquoted_delimiters + 1, stream.source_name)

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
