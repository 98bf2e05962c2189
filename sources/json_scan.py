"""An incremental JSON scanner: reads one value at a time from a text stream.

It walks the structure around the records (the top-level object, the keys on the
records path, the list brackets and commas) itself, and hands each record to the
standard library's C decoder with ``raw_decode``. Only the current record and a
chunk of text are held in memory, and every error names a line and column.

Numbers are decoded exactly: integers as ``int`` and fractions as ``Decimal``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sources.errors import SourceError

CHUNK_CHARS = 1 << 20
# A single record larger than this is treated as a broken file.
MAX_VALUE_CHARS = 64 << 20
# An error this far before the end of the buffer cannot be cured by more text.
_TOKEN_MARGIN = 4096
_WHITESPACE = " \t\r\n"
_NUMBER_CHARS = "0123456789.eE+-"

_MESSAGES = {
    "Expecting value": "expected a value",
    "Expecting ',' delimiter": "expected ','",
    "Expecting ':' delimiter": "expected ':'",
    "Expecting property name enclosed in double quotes": (
        "expected a key in double quotes"
    ),
    "Unterminated string starting at": "a string is not closed",
    "Invalid control character at": "a control character inside a string",
    "Invalid \\escape": "an invalid backslash escape",
    "Invalid \\uXXXX escape": "an invalid \\u escape",
    "Extra data": "unexpected text after the end of the JSON",
}


def _constant(name: str) -> Decimal:
    return Decimal(name)


EXACT_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_constant)
PLAIN_DECODER = json.JSONDecoder()


def plain_message(message: str) -> str:
    """Return the reason in a ``JSONDecodeError`` message in plain words."""
    for prefix, plain in _MESSAGES.items():
        if message.startswith(prefix):
            return plain
    return message.lower()


class JsonScanner:
    """Scan JSON text from ``chunks`` (an iterator of strings) value by value.

    ``source_name`` names the source in error messages, such as ``sales.json``.
    """

    def __init__(self, chunks: Iterator[str], source_name: str) -> None:
        self.chunks = chunks
        self.source_name = source_name
        self.buffer = ""
        self.pos = 0
        self.eof = False
        # Line and column of buffer[0]; both 1-based.
        self.base_line = 1
        self.base_column = 1
        # Line of buffer[counted_pos], kept so line numbers are counted once.
        self.counted_pos = 0
        self.counted_line = 1

    def _more(self) -> bool:
        """Append the next chunk to the buffer; return False at the end of input."""
        if self.eof:
            return False
        chunk = next(self.chunks, None)
        if chunk is None:
            self.eof = True
            return False
        if self.pos > CHUNK_CHARS:
            self._drop_consumed()
        self.buffer += chunk
        return True

    def _drop_consumed(self) -> None:
        consumed = self.buffer[: self.pos]
        newlines = consumed.count("\n")
        if newlines:
            self.base_line += newlines
            self.base_column = self.pos - consumed.rfind("\n")
        else:
            self.base_column += self.pos
        self.counted_line = self.line_at(self.pos)
        self.counted_pos = 0
        self.buffer = self.buffer[self.pos :]
        self.pos = 0

    def line_at(self, pos: int) -> int:
        """Return the 1-based line of ``buffer[pos]``; ``pos`` must not go back."""
        if pos < self.counted_pos:
            return self.base_line + self.buffer.count("\n", 0, pos)
        self.counted_line += self.buffer.count("\n", self.counted_pos, pos)
        self.counted_pos = pos
        return self.counted_line

    def location(self, pos: int) -> tuple[int, int]:
        """Return the line and column of ``buffer[pos]``."""
        newlines = self.buffer.count("\n", 0, pos)
        if newlines:
            column = pos - self.buffer.rfind("\n", 0, pos)
        else:
            column = self.base_column + pos
        return self.base_line + newlines, column

    def error(self, reason: str, pos: int | None = None) -> SourceError:
        """Return the error for invalid JSON at ``pos`` (the current position)."""
        line, column = self.location(self.pos if pos is None else pos)
        return SourceError(
            f"{self.source_name}: invalid JSON at line {line}, column {column} "
            f"({reason}). Fix the file or export it again."
        )

    def peek(self) -> str:
        """Skip whitespace and return the next character, or '' at the end."""
        while True:
            buffer = self.buffer
            pos = self.pos
            length = len(buffer)
            while pos < length and buffer[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < length:
                return buffer[pos]
            if not self._more():
                return ""

    def expect(self, allowed: str) -> str:
        """Consume the next character, which must be one of ``allowed``."""
        char = self.peek()
        if not char:
            raise self.error("the text ends before the JSON is complete")
        if char not in allowed:
            choices = " or ".join(repr(c) for c in allowed)
            raise self.error(f"expected {choices}")
        self.pos += 1
        return char

    def value(self, decoder: json.JSONDecoder = EXACT_DECODER) -> tuple[Any, int, str]:
        """Decode the next value; return it with its start line and its text."""
        if not self.peek():
            raise self.error("the text ends before the JSON is complete")
        while True:
            start = self.pos
            try:
                value, end = decoder.raw_decode(self.buffer, start)
            except json.JSONDecodeError as exc:
                if self._can_grow(exc):
                    continue
                raise self.error(plain_message(exc.msg), exc.pos) from None
            # A number such as 12 at the end of the buffer may go on as 123,
            # 12.5 or 12e3 in the next chunk, so it is decoded again with more.
            tail = self.buffer[end:]
            may_continue = (
                self.buffer[end - 1] not in ']}"'
                and len(tail) <= 3
                and all(char in _NUMBER_CHARS for char in tail)
            )
            if not may_continue or not self._more():
                break
        self.pos = end
        return value, self.line_at(start), self.buffer[start:end]

    def _can_grow(self, error: json.JSONDecodeError) -> bool:
        """Read more text when ``error`` may only mean the value is cut off."""
        near_end = len(self.buffer) - error.pos < _TOKEN_MARGIN
        open_string = error.msg.startswith("Unterminated string")
        if not (near_end or open_string):
            return False
        if len(self.buffer) - self.pos > MAX_VALUE_CHARS:
            raise self.error(
                f"one value is longer than {MAX_VALUE_CHARS >> 20} M characters"
            )
        return self._more()

    def key(self) -> str:
        """Read an object key and the ':' after it."""
        if self.peek() != '"':
            raise self.error("expected a key in double quotes")
        name, _, _ = self.value()
        self.expect(":")
        return name

    def skip(self) -> None:
        """Check the next value and move past it.

        Objects are walked key by key, so a large top-level object is never held
        whole; each list element is decoded (and dropped) on its own.
        """
        char = self.peek()
        if char == "{":
            self.pos += 1
            if self.peek() == "}":
                self.pos += 1
                return
            while True:
                self.key()
                self.skip()
                if self.expect(",}") == "}":
                    return
        elif char == "[":
            for _ in self.items(PLAIN_DECODER):
                pass
        else:
            self.value(PLAIN_DECODER)

    def items(
        self, decoder: json.JSONDecoder = EXACT_DECODER
    ) -> Iterator[tuple[Any, int, str]]:
        """Yield ``(value, line, text)`` for each element of the list starting here."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value(decoder)
            if self.expect(",]") == "]":
                return

    def end(self) -> None:
        """Check that nothing but whitespace follows the last value."""
        if self.peek():
            raise self.error("unexpected text after the end of the JSON")
