"""Decoding of text files line by line, with a per-line fallback for mixed encodings.

With encoding ``auto`` each line is decoded as UTF-8 and, when that fails, as
cp1252 (or latin-1 for the 5 bytes cp1252 leaves undefined). Deciding per line
matters: a file can be plain ASCII for thousands of lines and hold one cp1252
byte near the end, where a detector that samples the start would fail late.
Strict decoding is used for every other encoding; nothing is ever replaced or
dropped.
"""

from __future__ import annotations

import codecs
import io
import logging
from collections.abc import Iterator
from typing import BinaryIO, Protocol

from sources.errors import SourceError

log = logging.getLogger(__name__)

BOM = "\ufeff"

# Encodings whose bytes can contain 0x0A inside a character, so a file in them
# cannot be split into lines as bytes.
_WIDE_ENCODINGS = {
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
}


class Progress(Protocol):
    """The reader state that decoding updates: bytes read and warnings."""

    bytes_read: int
    warnings: list[str]
    source_name: str


def codec_name(encoding: str) -> str:
    """Return the canonical codec name of ``encoding`` (``UTF8`` gives ``utf-8``)."""
    return codecs.lookup(encoding).name


def decoded_lines(binary: BinaryIO, encoding: str, progress: Progress) -> Iterator[str]:
    """Yield the lines of ``binary`` as text, line endings kept, the BOM removed.

    ``progress.bytes_read`` grows with every line. A line that cannot be decoded
    raises ``SourceError`` naming its line number and first bad byte.
    """
    if encoding == "auto":
        start = binary.read(4)
        binary.seek(0)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _strip_bom(_wide_lines(binary, "utf-16", progress))
        return _strip_bom(_auto_lines(binary, progress))
    name = codec_name(encoding)
    if name in _WIDE_ENCODINGS:
        return _strip_bom(_wide_lines(binary, name, progress))
    if name == "utf-8-sig":
        name = "utf-8"
    return _strip_bom(_strict_lines(binary, name, progress))


def _strip_bom(lines: Iterator[str]) -> Iterator[str]:
    """Yield ``lines`` with a byte order mark removed from the first one."""
    first = next(lines, None)
    if first is None:
        return
    yield first[1:] if first.startswith(BOM) else first
    yield from lines


def _auto_lines(binary: BinaryIO, progress: Progress) -> Iterator[str]:
    fallback_lines = 0
    line_no = 0
    for raw in binary:
        line_no += 1
        progress.bytes_read += len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if fallback_lines == 0:
                log.info(
                    "%s: line %d is not valid UTF-8 (byte 0x%02X), read as cp1252",
                    progress.source_name,
                    line_no,
                    raw[exc.start],
                )
                progress.warnings.append(
                    f"Line {line_no} is not valid UTF-8 (byte 0x{raw[exc.start]:02X}), "
                    "so lines like it were read as cp1252. Set the encoding if the "
                    "text looks wrong."
                )
            fallback_lines += 1
            line = _decode_single_byte(raw)
        yield line


def _decode_single_byte(raw: bytes) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _strict_lines(binary: BinaryIO, encoding: str, progress: Progress) -> Iterator[str]:
    line_no = 0
    for raw in binary:
        line_no += 1
        progress.bytes_read += len(raw)
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                decode_error_message(progress.source_name, encoding, line_no, raw, exc)
            ) from None
        yield line


def decode_error_message(
    source_name: str,
    encoding: str,
    line_no: int,
    raw: bytes,
    error: UnicodeDecodeError,
) -> str:
    """Describe a decoding failure and suggest the encodings to try instead."""
    label = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
    byte = raw[error.start] if error.start < len(raw) else None
    where = f"line {line_no}"
    if byte is not None:
        where += f" (byte 0x{byte:02X})"
    advice = "try cp1252 or latin-1" if label == "UTF-8" else "try auto or UTF-8"
    return f"{source_name} is not valid {label} at {where}; {advice} as the encoding."


def _wide_lines(binary: BinaryIO, encoding: str, progress: Progress) -> Iterator[str]:
    text = io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")
    line_no = 0
    try:
        for line in text:
            line_no += 1
            progress.bytes_read = binary.tell()
            yield line
    except UnicodeDecodeError:
        raise SourceError(
            f"{progress.source_name} is not valid {encoding} after line {line_no}; "
            "set the encoding the file was saved in."
        ) from None
    finally:
        text.detach()


def decoded_chunks(
    binary: BinaryIO,
    encoding: str,
    progress: Progress,
    size: int = 1 << 20,
) -> Iterator[str]:
    """Yield the text of ``binary`` in chunks of about ``size`` bytes.

    ``auto`` means UTF-8 (UTF-16 when the file starts with its byte order mark)
    because JSON text is UTF-8 by standard. The BOM is removed, and a byte that
    cannot be decoded raises ``SourceError`` with its line number.
    """
    name = _chunk_codec(binary, encoding)
    decoder = codecs.getincrementaldecoder(name)(errors="strict")
    lines_before = 0
    while True:
        data = binary.read(size)
        progress.bytes_read += len(data)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line_no = lines_before + exc.object[: exc.start].count(b"\n") + 1
            raise SourceError(
                decode_error_message(
                    progress.source_name, name, line_no, exc.object, exc
                )
            ) from None
        if text:
            lines_before += text.count("\n")
            yield text
        if not data:
            return


def _chunk_codec(binary: BinaryIO, encoding: str) -> str:
    if encoding != "auto":
        name = codec_name(encoding)
        return "utf-8-sig" if name == "utf-8" else name
    start = binary.read(4)
    binary.seek(-len(start), io.SEEK_CUR)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"
