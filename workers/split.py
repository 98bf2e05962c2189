"""Split one large CSV or NDJSON file into parts that workers load in parallel.

A part ends on a record boundary: a newline outside any quoted CSV field. Quotes
in RFC 4180 CSV come in pairs (an embedded quote is written twice), so a newline
is a boundary exactly when the number of quote characters before it is even.
Counting quotes and newlines per block with ``bytes.count`` runs in C, so
planning the parts of a multi-gigabyte file takes about a second per gigabyte of
reading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BLOCK = 8 << 20  # bytes read at a time while planning


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``start`` to ``end`` of a file, holding whole records.

    ``first_line`` is the file line on which the part's first record starts, so
    rejected rows report the line of the whole file.
    """

    number: int
    start: int
    end: int
    first_line: int


def header_end(path: str | os.PathLike, quote: bytes = b'"') -> int:
    """Return the offset just past the header record of a CSV file."""
    with open(path, "rb") as handle:
        parity = 0
        offset = 0
        while block := handle.read(BLOCK):
            position = 0
            while True:
                newline = block.find(b"\n", position)
                if newline < 0:
                    parity ^= block.count(quote, position) & 1
                    break
                parity ^= block.count(quote, position, newline) & 1
                if parity == 0:
                    return offset + newline + 1
                position = newline + 1
            offset += len(block)
    return offset


def plan_parts(
    path: str | os.PathLike,
    parts: int,
    *,
    data_start: int = 0,
    first_line: int = 1,
    quote: bytes | None = b'"',
) -> list[Part]:
    """Cut the records after ``data_start`` into about ``parts`` equal byte ranges.

    ``first_line`` is the line number at ``data_start``. ``quote`` is the CSV
    quote character, or None for NDJSON, where every newline ends a record.
    Returns fewer parts when the file has fewer records than that.
    """
    size = Path(path).stat().st_size
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    span = size - data_start
    targets = [data_start + span * number // parts for number in range(1, parts)]
    cuts: list[tuple[int, int]] = []  # (offset after the newline, lines before it)

    with open(path, "rb") as handle:
        handle.seek(data_start)
        offset, lines, parity = data_start, 0, 0
        pending = list(targets)
        while pending and (block := handle.read(BLOCK)):
            position = 0
            while pending:
                # Skip to the first newline at or after the next target offset.
                want = max(position, pending[0] - offset)
                if want >= len(block):
                    break
                newline = block.find(b"\n", want)
                if newline < 0:
                    break
                if quote is not None:
                    parity ^= block.count(quote, position, newline) & 1
                lines += block.count(b"\n", position, newline)
                position = newline
                if parity == 0:
                    cut = offset + newline + 1
                    cuts.append((cut, lines + 1))
                    while pending and pending[0] < cut:
                        pending.pop(0)
                # Step past this newline; its quote parity is already counted.
                lines += 1
                position = newline + 1
            if quote is not None:
                parity ^= block.count(quote, position) & 1
            lines += block.count(b"\n", position)
            offset += len(block)

    result = []
    start, line = data_start, first_line
    for cut, lines_before in cuts:
        if cut >= size or cut <= start:
            continue
        result.append(Part(len(result), start, cut, line))
        start, line = cut, first_line + lines_before
    if start < size:
        result.append(Part(len(result), start, size, line))
    return result


def write_part(
    path: str | os.PathLike, part: Part, target: str | os.PathLike, header: bytes
) -> None:
    """Write ``header`` and the bytes of ``part`` to ``target``, streaming."""
    remaining = part.end - part.start
    with open(path, "rb") as source, open(target, "wb") as out:
        out.write(header)
        source.seek(part.start)
        while remaining > 0:
            block = source.read(min(BLOCK, remaining))
            if not block:
                break
            out.write(block)
            remaining -= len(block)
