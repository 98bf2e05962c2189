"""The record stream that every source reader returns."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from types import TracebackType
from typing import BinaryIO

from sources.errors import SourceError
from sources.records import RawRecord, Rejection

log = logging.getLogger(__name__)

Item = RawRecord | Rejection


class RecordStream:
    """Records of one source, read lazily in source order.

    Iterating yields ``RawRecord`` or ``Rejection`` items. While it runs,
    ``bytes_read`` grows towards ``bytes_total`` (None when the size is unknown)
    and ``warnings`` collects sentences to show on the task. Use it as a context
    manager so that files and connections are closed.
    """

    def __init__(self, source_name: str, bytes_total: int | None = None) -> None:
        self.source_name = source_name
        self.bytes_total = bytes_total
        self.bytes_read = 0
        self.warnings: list[str] = []
        self.resources = ExitStack()
        self._items: Iterator[Item] | None = None

    def start(self, items: Callable[[RecordStream], Iterator[Item]]) -> RecordStream:
        """Set the generator that produces the items; it receives this stream."""
        self._items = items(self)
        return self

    def open_file(self, path: str) -> BinaryIO:
        """Open ``path`` for reading in binary, closed with the stream."""
        try:
            binary = open(path, "rb")
        except FileNotFoundError:
            raise SourceError(
                f"File not found: {self.source_name} is no longer at {path}. "
                "Upload it again or check the data folder."
            ) from None
        except OSError as exc:
            raise SourceError(
                f"Cannot open {self.source_name}: {exc.strerror}."
            ) from None
        self.resources.callback(binary.close)
        if self.bytes_total is None:
            self.bytes_total = os.fstat(binary.fileno()).st_size
        return binary

    def __iter__(self) -> Iterator[Item]:
        # The generator itself, so a for loop runs without a Python-level
        # __next__ call per record.
        return self._items if self._items is not None else iter(())

    def __next__(self) -> Item:
        if self._items is None:
            raise StopIteration
        return next(self._items)

    def close(self) -> None:
        """Stop reading and release files and connections."""
        if self._items is not None and hasattr(self._items, "close"):
            self._items.close()
        self.resources.close()

    def __enter__(self) -> RecordStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
