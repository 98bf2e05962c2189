"""JSON reader: a top-level array, an object holding the records, or NDJSON.

An array or object document is read twice. The first pass checks the whole text,
so a file cut short or followed by junk fails before any record is loaded (a
document is all or nothing). The second pass yields the records one at a time.
NDJSON is read line by line, and a bad line is a ``Rejection``, not a failure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from sources.errors import SourceError
from sources.http import GuardedClient, HttpSettings, describe_content_type
from sources.json_scan import (
    EXACT_DECODER,
    JsonScanner,
    depth_reason,
    long_number_reason,
    plain_message,
    too_deep_at,
)
from sources.records import RawRecord, Rejection
from sources.spec import SourceSpec
from sources.stream import Item, RecordStream
from sources.text import decoded_chunks, decoded_lines

log = logging.getLogger(__name__)

# The first line of a file is read whole to tell NDJSON from a JSON document.
FIRST_LINE_LIMIT = 16 << 20


class _Discard:
    """Progress for the checking pass: its bytes and warnings are not reported."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name
        self.bytes_read = 0
        self.warnings: list[str] = []


def open_json_file(spec: SourceSpec, path: str) -> RecordStream:
    """Open the JSON file at ``path`` and return its record stream."""
    stream = RecordStream(spec.display_name)
    binary = stream.open_file(path)
    return stream.start(lambda progress: read_json(progress, binary, spec))


def open_json_url(spec: SourceSpec, settings: HttpSettings) -> RecordStream:
    """Download the JSON at ``spec.url`` to a temporary file and stream its records."""
    stream = RecordStream(spec.display_name)
    client = GuardedClient(settings)
    stream.resources.callback(client.close)
    try:
        response = client.fetch(spec.url, headers=spec.headers)
    except BaseException:
        stream.close()
        raise
    stream.resources.callback(response.close)
    stream.bytes_total = response.size
    if response.looks_like_html():
        stream.close()
        raise SourceError(
            f"expected JSON, got {describe_content_type(response.content_type)} "
            f"from {spec.url}. Check that the URL points at the data, not a web page."
        )
    return stream.start(lambda progress: read_json(progress, response.body, spec))


def read_json(
    stream: RecordStream, binary: BinaryIO, spec: SourceSpec
) -> Iterator[Item]:
    """Yield the records of a JSON file in any of the supported layouts."""
    layout = spec.format
    if layout == "auto":
        layout = detect_layout(binary)
    log.info("reading JSON %s as %s", stream.source_name, layout)
    if layout == "ndjson":
        yield from read_ndjson(stream, binary, spec)
        return

    check = JsonScanner(
        decoded_chunks(binary, spec.encoding, _Discard(stream.source_name)),
        stream.source_name,
    )
    if not check.peek():
        raise SourceError(f"{stream.source_name} is empty; it contains no JSON.")
    check.skip()
    check.end()
    binary.seek(0)

    scanner = JsonScanner(
        decoded_chunks(binary, spec.encoding, stream), stream.source_name
    )
    _go_to_records(scanner, spec.records_path, stream.source_name)
    for value, line_no, text in scanner.items():
        yield to_record(value, line_no, text)


def _go_to_records(scanner: JsonScanner, records_path: str | None, source: str) -> None:
    top = scanner.peek()
    if top == "[":
        if records_path:
            raise SourceError(
                f"{source}: top-level JSON is a list, so the records path "
                f"{records_path!r} does not apply. Clear the records path."
            )
        return
    if top != "{":
        kind = json_type(scanner.value()[0])
        raise SourceError(
            f"{source}: top-level JSON is {kind}; expected a list of records, an "
            "object holding one, or NDJSON."
        )
    if not records_path:
        found = find_list_path(scanner)
        raise SourceError(missing_path_message(source, found))
    descend(scanner, records_path, source)


def detect_layout(binary: BinaryIO) -> str:
    """Return ``ndjson`` or ``document`` for a file that starts at ``binary``."""
    first = binary.readline(FIRST_LINE_LIMIT)
    second = b""
    while not second.strip():
        line = binary.readline(FIRST_LINE_LIMIT)
        if not line:
            break
        second = line
    binary.seek(0)
    head = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{") or not second.strip():
        return "document"
    if not second.lstrip().startswith(b"{"):
        return "document"
    try:
        json.loads(head)
        return "ndjson"
    except RecursionError:
        return "ndjson"
    except ValueError:
        # A first line that opens an object without closing it starts a
        # pretty-printed document; one that closes it is a bad NDJSON line.
        return "ndjson" if head.rstrip().endswith(b"}") else "document"


def read_ndjson(
    stream: RecordStream, binary: BinaryIO, spec: SourceSpec
) -> Iterator[Item]:
    """Yield one record per non-blank line; a line that is not JSON is rejected.

    So is a line with an integer too long for ``int`` or nesting deeper than
    ``json_scan.MAX_DEPTH`` levels.
    """
    line_no = 0
    for line in decoded_lines(binary, spec.encoding, stream):
        line_no += 1
        text = line.strip()
        if not text:
            continue
        try:
            value, end = EXACT_DECODER.raw_decode(text)
            if text[end:].strip():
                raise json.JSONDecodeError("Extra data", text, end)
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON ({plain_message(exc.msg)} at column {exc.pos + 1})"
            yield Rejection(line_no, text, reason)
            continue
        except RecursionError:
            yield Rejection(line_no, text, depth_reason())
            continue
        except ValueError:
            yield Rejection(line_no, text, long_number_reason())
            continue
        if too_deep_at(text, 0, end) is not None:
            yield Rejection(line_no, text, depth_reason())
            continue
        yield to_record(value, line_no, text)


def to_record(value: Any, line_no: int, text: str) -> Item:
    """Return a ``RawRecord`` for a JSON object, or a ``Rejection`` for other values."""
    if isinstance(value, dict):
        return RawRecord(line_no, value, text)
    return Rejection(line_no, text, f"the record is {json_type(value)}, not an object")


def json_type(value: Any) -> str:
    """Name the JSON type of a decoded value, with its article."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float):
        return "a number"
    return "null"


def missing_path_message(source: str, found: str | None) -> str:
    """Explain that an object needs a records path, naming the list found."""
    if found:
        return (
            f"{source}: top-level JSON is an object; set the records path "
            f"(found a list at {found})."
        )
    return (
        f"{source}: top-level JSON is an object with no list of records in it. "
        "Give a JSON list of records or set the records path. If each line of "
        "the file is one record, set the format to ndjson."
    )


def find_list_path(scanner: JsonScanner, prefix: str = "") -> str | None:
    """Return the dotted path of the first list inside the object at the scanner."""
    scanner.expect("{")
    if scanner.peek() == "}":
        return None
    while True:
        name = scanner.key()
        path = f"{prefix}.{name}" if prefix else name
        char = scanner.peek()
        if char == "[":
            return path
        if char == "{":
            found = find_list_path(scanner, path)
            if found:
                return found
        else:
            scanner.skip()
        if scanner.expect(",}") == "}":
            return None


def descend(scanner: JsonScanner, records_path: str, source: str) -> None:
    """Move the scanner to the list at ``records_path`` (dotted keys)."""
    keys = records_path.split(".")
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the top level"
        if scanner.peek() != "{":
            raise SourceError(
                f"{source}: the records path {records_path!r} was not found because "
                f"{where} is {json_type(scanner.value()[0])}, not an object."
            )
        _find_key(scanner, key, records_path, where, source)
    if scanner.peek() != "[":
        kind = json_type(scanner.value()[0])
        raise SourceError(
            f"{source}: the records path {records_path!r} points to {kind}, not a list "
            "of records."
        )


def _find_key(
    scanner: JsonScanner, key: str, records_path: str, where: str, source: str
) -> None:
    scanner.expect("{")
    seen: list[str] = []
    if scanner.peek() != "}":
        while True:
            name = scanner.key()
            if name == key:
                return
            seen.append(name)
            scanner.skip()
            if scanner.expect(",}") == "}":
                break
    keys = ", ".join(seen[:20]) or "none"
    raise SourceError(
        f"{source}: the records path {records_path!r} was not found: {where} has no "
        f"key {key!r} (its keys are: {keys})."
    )


def records_at(document: Any, records_path: str | None, source: str) -> list[Any]:
    """Return the list of records in a decoded document, or raise ``SourceError``."""
    if not records_path:
        if isinstance(document, list):
            return document
        if isinstance(document, dict):
            raise SourceError(missing_path_message(source, _first_list_path(document)))
        raise SourceError(
            f"{source}: the JSON is {json_type(document)}; expected a list of records "
            "or an object holding one."
        )
    value = document
    keys = records_path.split(".")
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the top level"
        if not isinstance(value, dict):
            raise SourceError(
                f"{source}: the records path {records_path!r} was not found because "
                f"{where} is {json_type(value)}, not an object."
            )
        if key not in value:
            listed = ", ".join(list(value)[:20]) or "none"
            raise SourceError(
                f"{source}: the records path {records_path!r} was not found: {where} "
                f"has no key {key!r} (its keys are: {listed})."
            )
        value = value[key]
    if not isinstance(value, list):
        raise SourceError(
            f"{source}: the records path {records_path!r} points to "
            f"{json_type(value)}, not a list of records."
        )
    return value


def _first_list_path(document: dict[str, Any], prefix: str = "") -> str | None:
    for name, value in document.items():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, list):
            return path
        if isinstance(value, dict):
            found = _first_list_path(value, path)
            if found:
                return found
    return None
