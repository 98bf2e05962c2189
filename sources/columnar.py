"""Columnar fast path for CSV files: normalised columns per chunk of the file.

The record path (``csv_source`` and ``Normalizer``) builds Python objects for
every row. This path reads the file in chunks of about ``CHUNK_BYTES``, parses
each chunk with pyarrow's CSV reader into string columns, and normalises whole
columns (see ``sources.column_values``). It gives the same records, record
keys, rejections, line numbers, warnings and errors as the record path:

- A file or spec that pyarrow cannot read the same way is not opened here at
  all (``open_csv_columns`` returns None): encodings other than UTF-8, a UTF-16
  byte order mark, a delimiter that is not a single ASCII character, a header
  that spans lines or does not map the required fields.
- A chunk is parsed by pyarrow only when each of its physical lines is one row.
  It must be valid UTF-8 with no carriage return outside a CRLF, no NUL, no
  value with a line break and no value near the ``csv`` module's field size
  limit. Any other chunk is read line by line with the ``csv`` module, exactly
  as ``csv_source`` reads it, continuing past the chunk's end when a quoted value
  runs on.
- Rows with a wrong field count and blank rows are handled as ``csv_source``
  handles them. A row that the vectorised checks cannot prove valid goes
  through ``Normalizer.normalize``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from sources.column_values import SALE_FIELDS, ColumnNormalizer, records_table
from sources.csv_source import (
    _QUOTED,
    check_header_width,
    detect_delimiter,
    header_names,
)
from sources.errors import SourceError
from sources.normalize import ColumnPlan, Normalizer, record_key
from sources.records import RawRecord, Rejection, SaleRecord
from sources.spec import SourceSpec
from sources.stream import Item, RecordStream
from sources.text import BOM, codec_name, decode_error_message

log = logging.getLogger(__name__)

# pyarrow's default allocator, mimalloc, keeps the pages each thread freed. The
# system allocator returns them, which measured 40 to 50 MB less peak RSS while
# reading the 100,000-row benchmark file, at the same speed.
pa.set_memory_pool(pa.system_memory_pool())

# Bytes read per chunk; each chunk becomes one batch. 512 KiB contains about
# 8,000 rows of the benchmark's sales file. On the 100,000 and 200,000-row
# benchmark files, chunks of 1 and 4 MiB were no faster and raised the worker's
# peak RSS by 20 to 50 MB.
CHUNK_BYTES = 512 << 10
_UTF8_BOM = BOM.encode()


@dataclass(slots=True)
class ColumnBatch:
    """The sales and rejections of one chunk, in file order.

    ``sales`` has the columns of ``sources.column_values.SALE_SCHEMA``.
    ``rows_read`` counts records and rejections, as the record path counts
    stream items; skipped blank rows are not counted. ``bytes_read`` is the
    file position after the chunk.
    """

    sales: pa.Table
    rejections: list[Rejection]
    rows_read: int
    bytes_read: int = 0


@dataclass(slots=True)
class _Layout:
    """The layout read from the header: delimiter, column names, line counters."""

    delimiter: str
    header: list[str]
    # Physical lines before the first data row, and record lines (the
    # header is record line 1; blank lines before it are not counted).
    physical_lines: int
    record_line: int = 2
    blank_rows: int = 0
    fallback_lines: int = 0
    warnings: list[str] = field(default_factory=list)


class ColumnStream:
    """Batches of one CSV file, read lazily; a context manager like ``RecordStream``.

    ``bytes_read`` grows towards ``bytes_total`` and ``warnings`` collects the
    same sentences that the record path would put on the task.
    """

    def __init__(self, records: RecordStream) -> None:
        self._records = records
        self._batches: Iterator[ColumnBatch] = iter(())
        # Chunks parsed by pyarrow, and chunks read with the csv module.
        self.columnar_chunks = 0
        self.record_chunks = 0

    @property
    def source_name(self) -> str:
        return self._records.source_name

    @property
    def bytes_read(self) -> int:
        return self._records.bytes_read

    @property
    def bytes_total(self) -> int | None:
        return self._records.bytes_total

    @property
    def warnings(self) -> list[str]:
        return self._records.warnings

    @property
    def resources(self) -> ExitStack:
        return self._records.resources

    def __iter__(self) -> Iterator[ColumnBatch]:
        return self._batches

    def close(self) -> None:
        """Stop reading and close the file."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
        self._records.close()

    def __enter__(self) -> ColumnStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_csv_columns(
    spec: SourceSpec,
    path: str,
    normalizer: Normalizer,
    identity: str,
    chunk_bytes: int | None = None,
) -> ColumnStream | None:
    """Open the CSV file at ``path`` for the fast path.

    Return None when the file or spec needs the record path; nothing has been
    read into the task then. ``normalizer`` must be the task's normalizer, and
    ``identity`` names the source in record keys, and ``chunk_bytes`` sets the
    chunk size (``CHUNK_BYTES`` when None). Raise ``SourceError`` when the file
    cannot be opened, as ``open_records`` does.
    """
    if not _spec_suits(spec):
        return None
    records = RecordStream(spec.display_name)
    binary = records.open_file(path)
    try:
        layout = _read_header(binary, spec, records)
        plan = _plan(normalizer, layout) if layout else None
    except BaseException:
        records.close()
        raise
    if layout is None or plan is None:
        records.close()
        return None

    records.warnings.extend(layout.warnings)
    values = ColumnNormalizer(normalizer, plan, layout.header, identity)
    stream = ColumnStream(records)
    reader = _ChunkReader(binary, spec, stream, layout, normalizer, values, identity)
    stream._batches = reader.batches(chunk_bytes or CHUNK_BYTES)
    log.info(
        "reading CSV %s in columns with delimiter %r",
        records.source_name,
        layout.delimiter,
    )
    return stream


def _spec_suits(spec: SourceSpec) -> bool:
    if spec.kind != "csv":
        return False
    if spec.encoding != "auto" and codec_name(spec.encoding) not in (
        "utf-8",
        "utf-8-sig",
    ):
        return False
    return spec.delimiter is None or _delimiter_suits(spec.delimiter)


def _delimiter_suits(delimiter: str) -> bool:
    return len(delimiter) == 1 and delimiter.isascii() and delimiter not in '"\r\n'


def _read_header(binary, spec: SourceSpec, records: RecordStream) -> _Layout | None:
    """Read up to the header row; return None when the file needs the record path.

    Blank lines before the header are skipped as ``csv_source`` skips them. An
    empty file returns None, so the record path raises its error.
    """
    if spec.encoding == "auto" and binary.read(2) in (b"\xff\xfe", b"\xfe\xff"):
        return None
    binary.seek(0)
    physical = 0
    while True:
        raw = binary.readline()
        if not raw:
            return None
        physical += 1
        records.bytes_read += len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if physical == 1 and line.startswith(BOM):
            line = line[1:]
        if line.strip():
            break

    delimiter = spec.delimiter or detect_delimiter(line)
    if not _delimiter_suits(delimiter):
        return None
    # The same width check as csv_source, before the header is split.
    check_header_width(_QUOTED.sub("", line).count(delimiter) + 1, records.source_name)
    try:
        fields = next(csv.reader([line], delimiter=delimiter))
    except csv.Error:
        return None
    if any("\n" in name or "\r" in name for name in fields) or len(fields) < 2:
        return None
    # header_names records its warnings on the stream it is given.
    collector = RecordStream(records.source_name)
    header = header_names(fields, collector)
    return _Layout(delimiter, header, physical, warnings=collector.warnings)


def _plan(normalizer: Normalizer, layout: _Layout) -> ColumnPlan | None:
    """Return the normalizer's column plan for the header, or None.

    None means the record path must run: it raises the missing-column error at
    the first record, or reads nested columns, which CSV values never have.
    """
    try:
        plan = normalizer._plan_for(dict.fromkeys(layout.header, ""))
    except SourceError:
        return None
    return None if plan.nested else plan


@dataclass(slots=True)
class _RowBlock:
    """A chunk that pyarrow parsed with one row per physical line."""

    table: pa.Table
    text: str
    # 0-based line index within the chunk of each table row.
    line_index: np.ndarray
    # (0-based line index, row text) of rows with a wrong field count.
    wrong_width: list[tuple[int, str]]
    _lines: list[str] | None = None

    def line(self, index: int) -> str:
        """Return line ``index`` of the chunk without its line break."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[index].rstrip("\r")


class _ChunkReader:
    """Read a CSV file after its header, one chunk per batch."""

    def __init__(
        self,
        binary,
        spec: SourceSpec,
        stream: ColumnStream,
        layout: _Layout,
        normalizer: Normalizer,
        values: ColumnNormalizer,
        identity: str,
    ) -> None:
        self.binary = binary
        self.identity = identity
        self.spec = spec
        self.stream = stream
        self.records = stream._records
        self.layout = layout
        self.normalizer = normalizer
        self.values = values
        self.header = layout.header
        self.width = len(layout.header)
        self.strict = spec.encoding != "auto"
        self.field_limit = csv.field_size_limit()
        self.parse_options = pa_csv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
        )
        self.convert_options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in layout.header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )

    def batches(self, chunk_bytes: int) -> Iterator[ColumnBatch]:
        """Yield one batch per chunk, then add the blank-row warning."""
        binary = self.binary
        while True:
            chunk = binary.read(chunk_bytes)
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                chunk += binary.readline()
            block = self._parse(chunk)
            if block is not None:
                self.stream.columnar_chunks += 1
                batch = self._fast_batch(block)
            else:
                self.stream.record_chunks += 1
                batch = self._record_batch(chunk)
            batch.bytes_read = self.records.bytes_read = binary.tell()
            yield batch
        self.records.bytes_read = binary.tell()
        log.info(
            "%s: %d chunks read in columns, %d with the csv module",
            self.records.source_name,
            self.stream.columnar_chunks,
            self.stream.record_chunks,
        )
        blank_rows = self.layout.blank_rows
        if blank_rows:
            rows = "1 row" if blank_rows == 1 else f"{blank_rows} rows"
            self.records.warnings.append(f"Skipped {rows} whose fields were all empty.")

    def _parse(self, chunk: bytes) -> _RowBlock | None:
        """Parse ``chunk`` with pyarrow, or return None when it needs the csv module."""
        if (
            chunk.count(b"\r") != chunk.count(b"\r\n")
            or b"\x00" in chunk
            or chunk.startswith(_UTF8_BOM)
        ):
            return None
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            return None
        parsed = self._read_table(chunk)
        if parsed is None:
            return None
        table, wrong_width = parsed
        table = table.combine_chunks()
        lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        if table.num_rows + len(wrong_width) != lines:
            return None
        if b'"' in chunk and _may_span_lines(table, wrong_width):
            return None
        if len(chunk) >= self.field_limit and _longest_value(table) >= self.field_limit:
            return None

        line_index = np.arange(lines)
        if wrong_width:
            taken = np.array([index for index, _ in wrong_width])
            line_index = np.delete(line_index, taken)
        block = _RowBlock(table, text, line_index, wrong_width)
        # The row numbers pyarrow reports are checked against the text itself.
        if any(block.line(index) != row_text for index, row_text in wrong_width):
            return None
        return block

    def _read_table(self, chunk: bytes) -> tuple[pa.Table, list] | None:
        read_options = pa_csv.ReadOptions(
            column_names=self.header,
            block_size=max(len(chunk) + 1, 1 << 20),
            use_threads=True,
        )
        try:
            table = pa_csv.read_csv(
                pa.py_buffer(chunk),
                read_options=read_options,
                parse_options=self.parse_options,
                convert_options=self.convert_options,
            )
            return table, []
        except pa.ArrowInvalid:
            pass

        # A row with a wrong field count: read again on one thread, where pyarrow
        # reports the row number of each such row to the handler.
        wrong_width: list[tuple[int, str]] = []

        def skip(row: pa_csv.InvalidRow) -> str:
            if row.number is None:
                raise ValueError("row number unknown")
            wrong_width.append((row.number - 1, row.text))
            return "skip"

        read_options.use_threads = False
        parse_options = pa_csv.ParseOptions(
            delimiter=self.parse_options.delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=skip,
        )
        try:
            table = pa_csv.read_csv(
                pa.py_buffer(chunk),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=self.convert_options,
            )
        except (pa.ArrowInvalid, ValueError):
            return None
        return table, wrong_width

    def _fast_batch(self, block: _RowBlock) -> ColumnBatch:
        """Normalise a parsed chunk; unusual rows take the record path."""
        first_line = self.layout.record_line
        lines = len(block.line_index) + len(block.wrong_width)
        self.layout.record_line += lines
        self.layout.physical_lines += lines
        rejections: list[tuple[int, Rejection]] = []
        rows_read = 0
        for index, row_text in block.wrong_width:
            item = self._wrong_width_item(first_line + index, row_text)
            if item is not None:
                rejections.append((item.line_no, item))
                rows_read += 1

        table = block.table
        keep = self._skip_blank_rows(block)
        if keep is not None:
            table = table.filter(pa.array(keep))
            line_index = block.line_index[keep]
        else:
            line_index = block.line_index
        rows_read += table.num_rows

        normalized = self.values.normalize(table)
        valid = normalized.valid
        sales = self._valid_sales(table, normalized.columns, valid)
        positions = line_index[valid]

        flagged = np.flatnonzero(~valid)
        if flagged.size:
            raws = table.take(flagged).to_pylist()
            records: list[SaleRecord] = []
            keys: list[str] = []
            record_positions = []
            for row, data in zip(flagged, raws, strict=True):
                index = int(line_index[row])
                raw = RawRecord(first_line + index, data, block.line(index))
                item = self.normalizer.normalize(raw)
                if isinstance(item, Rejection):
                    rejections.append((item.line_no, item))
                else:
                    records.append(item)
                    keys.append(record_key(self.identity, item, raw))
                    record_positions.append(index)
            if records:
                sales, positions = _merge(
                    sales,
                    positions,
                    records_table(records, keys),
                    np.array(record_positions),
                )

        rejections.sort(key=lambda pair: pair[0])
        return ColumnBatch(sales, [item for _, item in rejections], rows_read)

    def _valid_sales(
        self, table: pa.Table, columns: dict[str, pa.Array], valid: np.ndarray
    ) -> pa.Table:
        selected = pa.array(valid)
        kept = {name: pc.filter(array, selected) for name, array in columns.items()}
        raw = table.filter(selected)
        kept["record_key"] = self.values.record_keys(raw, kept["source_record_id"])
        return pa.table({name: kept[name] for name in SALE_FIELDS})

    def _skip_blank_rows(self, block: _RowBlock) -> np.ndarray | None:
        """Drop rows whose fields are all blank, as ``csv_source`` does.

        Return the mask of rows to keep, or None when every row stays. An empty
        line is skipped without being counted, because the ``csv`` module reads
        it as a row with no fields.
        """
        first = block.table.column(0).combine_chunks()
        empty = pc.equal(first, "").to_numpy(zero_copy_only=False)
        candidates = np.flatnonzero(empty)
        if candidates.size == 0:
            return None
        keep = np.ones(block.table.num_rows, dtype=bool)
        rows = block.table.take(candidates).to_pylist()
        for row, data in zip(candidates, rows, strict=True):
            if any(value.strip() for value in data.values()):
                continue
            keep[row] = False
            if block.line(int(block.line_index[row])):
                self.layout.blank_rows += 1
        return keep

    def _wrong_width_item(self, line_no: int, text: str) -> Rejection | None:
        fields = next(csv.reader([text], delimiter=self.layout.delimiter), [])
        if not any(value.strip() for value in fields):
            self.layout.blank_rows += bool(fields)
            return None
        return Rejection(line_no, text, f"{len(fields)} fields, expected {self.width}")

    def _record_batch(self, chunk: bytes) -> ColumnBatch:
        """Read ``chunk`` with the csv module, as ``csv_source`` reads every row."""
        records: list[SaleRecord] = []
        keys: list[str] = []
        rejections: list[Rejection] = []
        rows_read = 0
        for item in self._record_items(chunk):
            rows_read += 1
            raw = item
            if not isinstance(item, Rejection):
                item = self.normalizer.normalize(raw)
            if isinstance(item, Rejection):
                rejections.append(item)
            else:
                records.append(item)
                keys.append(record_key(self.identity, item, raw))
        return ColumnBatch(records_table(records, keys), rejections, rows_read)

    def _record_items(self, chunk: bytes) -> Iterator[Item]:
        """Yield the rows of ``chunk`` and of any lines a quoted value runs on to."""
        consumed: list[str] = []
        reader = csv.reader(
            self._decoded_lines(chunk, consumed), delimiter=self.layout.delimiter
        )
        layout = self.layout
        try:
            for fields in reader:
                line_no = layout.record_line
                layout.record_line += len(consumed)
                raw = (consumed[0] if len(consumed) == 1 else "".join(consumed)).rstrip(
                    "\r\n"
                )
                consumed.clear()
                if len(fields) != self.width or not fields[0]:
                    if not any(value.strip() for value in fields):
                        layout.blank_rows += bool(fields)
                        continue
                    if len(fields) != self.width:
                        reason = f"{len(fields)} fields, expected {self.width}"
                        yield Rejection(line_no, raw, reason)
                        continue
                yield RawRecord(
                    line_no, dict(zip(self.header, fields, strict=True)), raw
                )
        except csv.Error as exc:
            raise SourceError(
                f"{self.records.source_name}: the row starting at line "
                f"{layout.record_line} is not valid CSV ({exc}). Check the quotes "
                "in that row."
            ) from None

    def _decoded_lines(self, chunk: bytes, consumed: list[str]) -> Iterator[str]:
        """Decode the lines of ``chunk``, then go on in the file while a row is open.

        The csv module requests another line either to start a row or to go on
        with one. After the chunk's last line, only the second reads on.
        """
        parts = chunk.split(b"\n")
        lines = [part + b"\n" for part in parts[:-1]]
        if parts[-1]:
            lines.append(parts[-1])
        for raw in lines:
            line = self._decode(raw)
            consumed.append(line)
            yield line
        while consumed:
            raw = self.binary.readline()
            if not raw:
                return
            line = self._decode(raw)
            consumed.append(line)
            yield line

    def _decode(self, raw: bytes) -> str:
        """Decode one line as ``sources.text`` does for the spec's encoding."""
        layout = self.layout
        layout.physical_lines += 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.strict:
                raise SourceError(
                    decode_error_message(
                        self.records.source_name,
                        "utf-8",
                        layout.physical_lines,
                        raw,
                        exc,
                    )
                ) from None
            if layout.fallback_lines == 0:
                self._warn_fallback(layout.physical_lines, raw[exc.start])
            layout.fallback_lines += 1
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def _warn_fallback(self, line_no: int, byte: int) -> None:
        log.info(
            "%s: line %d is not valid UTF-8 (byte 0x%02X), read as cp1252",
            self.records.source_name,
            line_no,
            byte,
        )
        self.records.warnings.append(
            f"Line {line_no} is not valid UTF-8 (byte 0x{byte:02X}), so lines like "
            "it were read as cp1252. Set the encoding if the text looks wrong."
        )


def _may_span_lines(table: pa.Table, wrong_width: list[tuple[int, str]]) -> bool:
    """Tell whether a quoted value in a parsed chunk may hold a line break.

    pyarrow gives the text of a row with a wrong field count without its line
    break, even when a quote left open at the end of the chunk swallowed it. So
    such a row with any quote counts as one that may go on.
    """
    if any('"' in text or "\n" in text for _, text in wrong_width):
        return True
    return any(
        pc.any(pc.match_substring(column, "\n")).as_py() for column in table.columns
    )


def _longest_value(table: pa.Table) -> int:
    longest = 0
    for column in table.columns:
        value = pc.max(pc.utf8_length(column)).as_py()
        longest = max(longest, value or 0)
    return longest


def _merge(
    sales: pa.Table,
    positions: np.ndarray,
    extra: pa.Table,
    extra_positions: np.ndarray,
) -> tuple[pa.Table, np.ndarray]:
    """Combine two sets of rows and sort them by their line in the chunk."""
    combined = pa.concat_tables([sales, extra.cast(sales.schema)])
    order_positions = np.concatenate([positions, extra_positions])
    order = np.argsort(order_positions, kind="stable")
    return combined.take(pa.array(order)), order_positions[order]
