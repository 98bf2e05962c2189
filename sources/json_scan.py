"""An incremental JSON scanner: reads one value at a time from a text stream.

It walks the structure around the records (the top-level object, the keys on the
records path, the list brackets and commas) itself, and hands each record to the
standard library's C decoder with ``raw_decode``. Only the current record and a
chunk of text are held in memory, and every error names a line and column.

Numbers are decoded exactly: integers as ``int`` and fractions as ``Decimal``.
An integer longer than Python's limit for ``int`` (4,300 digits unless
``sys.set_int_max_str_digits`` changed it) and nesting deeper than
``MAX_DEPTH`` levels are errors that name their line.
"""

from __future__ import annotations

import json
import re
import sys
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
# Lists and objects nested deeper than this are rejected. The standard library's
# decoder raises RecursionError near 1,000 levels, and orjson, which keys the
# records, refuses more than 255.
MAX_DEPTH = 200
_STRUCTURE = re.compile(r'[\[\]{}"]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)

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


def long_number_reason() -> str:
    """Return the reason a number is rejected for having too many digits."""
    return f"a number has more than {sys.get_int_max_str_digits():,} digits"


def long_number_at(text: str, start: int = 0, end: int | None = None) -> int | None:
    """Return where an integer too long for ``int`` starts in ``text``, or None."""
    limit = sys.get_int_max_str_digits()
    if not limit:
        return None
    end = len(text) if end is None else end
    match = re.compile(rf"\d{{{limit + 1},}}").search(text, start, end)
    return match.start() if match else None


def depth_reason() -> str:
    """Return the reason a value is rejected for nesting too deeply."""
    return f"lists and objects are nested deeper than {MAX_DEPTH} levels"


def too_deep_at(
    text: str, start: int = 0, end: int | None = None, limit: int = MAX_DEPTH
) -> int | None:
    """Return the offset in ``text`` where nesting passes ``limit`` levels, or None.

    Brackets inside strings do not count. Text with no more than ``limit``
    opening brackets is passed without a scan.
    """
    end = len(text) if end is None else end
    if text.count("[", start, end) + text.count("{", start, end) <= limit:
        return None
    depth = 0
    pos = start
    while (match := _STRUCTURE.search(text, pos, end)) is not None:
        char = match.group()
        pos = match.end()
        if char == '"':
            rest = _STRING_REST.match(text, pos, end)
            if rest is None:
                return None
            pos = rest.end()
        elif char in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        else:
            depth -= 1
    return None


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
        # Lists and objects that the scanner itself has entered.
        self.depth = 0

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
        """Decode the next value; return it with its start line and its text.

        Raise ``SourceError`` for invalid JSON, an integer too long for ``int``
        and nesting deeper than ``MAX_DEPTH`` levels in the whole document.
        """
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
            except RecursionError:
                raise self._too_deep(start, len(self.buffer)) from None
            except ValueError:
                raise self._long_number(start) from None
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
        if too_deep_at(self.buffer, start, end, MAX_DEPTH - self.depth) is not None:
            raise self._too_deep(start, end)
        self.pos = end
        return value, self.line_at(start), self.buffer[start:end]

    def _too_deep(self, start: int, end: int) -> SourceError:
        found = too_deep_at(self.buffer, start, end, MAX_DEPTH - self.depth)
        line, _ = self.location(start if found is None else found)
        return SourceError(
            f"{self.source_name}: lists and objects are nested deeper than "
            f"{MAX_DEPTH} levels at line {line}. Records of sales need only a few "
            "levels; check the file."
        )

    def _long_number(self, start: int) -> SourceError:
        found = long_number_at(self.buffer, start)
        if found is None:
            return self.error("a value cannot be decoded", start)
        line, _ = self.location(found)
        return SourceError(
            f"{self.source_name}: a number on line {line} has more than "
            f"{sys.get_int_max_str_digits():,} digits. Quote it as a string or "
            "fix the file."
        )

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
            self.enter()
            if self.peek() == "}":
                self.pos += 1
                self.depth -= 1
                return
            while True:
                self.key()
                self.skip()
                if self.expect(",}") == "}":
                    self.depth -= 1
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
        self.depth += 1
        if self.peek() == "]":
            self.pos += 1
            self.depth -= 1
            return
        while True:
            yield self.value(decoder)
            if self.expect(",]") == "]":
                self.depth -= 1
                return

    def enter(self) -> None:
        """Consume the '{' of an object that the scanner walks key by key."""
        self.expect("{")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._too_deep(self.pos - 1, self.pos)

    def end(self) -> None:
        """Check that nothing but whitespace follows the last value."""
        if self.peek():
            raise self.error("unexpected text after the end of the JSON")
