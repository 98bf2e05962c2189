"""Vectorised normalisation of CSV columns, exactly as ``Normalizer`` does per record.

Each field of a record is normalised on its own value, so a column can be
normalised as a whole and the rows put back together. Two kinds of work share
the columns:

- Values in the forms that almost every file uses (plain ISO dates and times,
  plain prices with up to 2 decimals, ids with no surrounding whitespace) are
  checked and converted with pyarrow and numpy.
- Every other value is passed to the same ``Normalizer`` method that the record
  path calls, once per distinct value, because real files repeat the same
  companies, models and dates many times.

A row whose field has a problem, or that the vectorised checks cannot prove
valid, is flagged. The caller runs flagged rows through ``Normalizer.normalize``
so that they get the same record or the same rejection as on the record path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sources.dates import MAX_YEAR, MIN_YEAR
from sources.normalize import CACHE_LIMIT, MAX_ID_LENGTH, ColumnPlan, Normalizer
from sources.records import SaleRecord

# The columns of a normalised batch, in the order the loader stores them.
SALE_SCHEMA = pa.schema(
    [
        ("record_key", pa.string()),
        ("source_record_id", pa.string()),
        ("company", pa.string()),
        ("car_model", pa.string()),
        ("sold_at", pa.string()),
        ("utc_offset_minutes", pa.int32()),
        ("sale_date", pa.string()),
        ("month_key", pa.int32()),
        ("price_cents", pa.int64()),
        ("currency", pa.string()),
    ]
)
SALE_FIELDS = tuple(SALE_SCHEMA.names)

# Rows whose record keys are hashed at a time; bounds the Python objects alive.
KEY_SLICE = 10_000
# Days per month in a common year; index 0 is a placeholder for invalid months.
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# ISO forms read without Python: date, date and minutes, date and seconds.
_ISO_LENGTHS = (10, 16, 19)
_ISO_SUFFIX = {10: " 00:00:00", 16: ":00", 19: ""}
# The time columns that the record path fills, in the order of ``_time_parts``.
_TIME_PARTS = ("sold_at", "sale_date", "month_key", "utc_offset_minutes")
# An id that ``str.strip`` leaves as it is and that contains no control character.
_PLAIN_ID = r"^[!-~](?:[^\x00-\x1f\x7f]*[!-~])?$"
# Characters that orjson writes as an escape sequence inside a JSON string.
_JSON_ESCAPED = r'["\\\x00-\x1f]'
# The result of a value with a problem, and of a value not resolved yet.
PROBLEM = object()
_UNSEEN = object()


@dataclass(slots=True)
class NormalizedColumns:
    """The normalised fields of every row of a block, and which rows are valid.

    Arrays are aligned with the input rows. Where ``valid`` is False the values
    are meaningless, and the row must take the record path.
    """

    columns: dict[str, pa.Array]
    valid: np.ndarray


@dataclass(slots=True)
class Distinct:
    """The result for each distinct value of a column, and where each row points.

    ``results[i]`` is ``PROBLEM`` when distinct value ``i`` has a problem, and
    ``problem`` marks the rows whose value has one.
    """

    results: list[Any]
    indices: pa.Array
    problem: np.ndarray

    def spread(self, result_type: pa.DataType, part: int | None = None) -> pa.Array:
        """Return the result of every row as an array of ``result_type``.

        ``part`` picks one item of tuple results. A row with a problem gets null.
        """
        values = []
        for result in self.results:
            if result is PROBLEM:
                values.append(None)
            elif part is None:
                values.append(result)
            else:
                values.append(result[part])
        return pa.array(values, result_type).take(self.indices)


class ColumnNormalizer:
    """Normalise blocks of raw CSV columns the way ``normalizer`` does per record.

    ``plan`` maps the canonical fields to the CSV columns, ``header`` lists every
    column in file order, and ``identity`` names the source in record keys.
    """

    def __init__(
        self,
        normalizer: Normalizer,
        plan: ColumnPlan,
        header: list[str],
        identity: str,
    ) -> None:
        self.normalizer = normalizer
        self.plan = plan
        self.header = header
        self.identity = identity
        self.id_prefix = f"id\x1f{identity}\x1f"
        self.json_keys = _sorted_json_keys(header)
        self.caches: dict[str, dict[str, Any]] = {
            "company": {},
            "car_model": {},
            "sale_date": {},
            "price": {},
            "currency": {},
        }

    def normalize(self, table: pa.Table) -> NormalizedColumns:
        """Normalise the string columns of ``table``, whose names are the header."""
        rows = table.num_rows
        valid = np.ones(rows, dtype=bool)
        columns: dict[str, pa.Array] = {}

        columns["company"] = self._names(table, "company", valid)
        columns["car_model"] = self._names(table, "car_model", valid)
        columns.update(self._times(_column(table, self.plan.sale_date), valid))
        columns["price_cents"] = self._prices(_column(table, self.plan.price), valid)
        columns["source_record_id"] = self._ids(table, valid)
        columns["currency"] = self._currencies(table, valid)
        return NormalizedColumns(columns, valid)

    def record_keys(self, table: pa.Table, ids: pa.Array) -> pa.Array:
        """Return the record key of each row, as ``sources.record_key`` makes it.

        ``table`` contains the raw string columns and ``ids`` the normalised
        source ids (null where a row has none). Keys are hashed a slice at a
        time, so the Python objects of a large chunk never exist all at once.
        """
        inputs = pc.binary_join_element_wise(self.id_prefix, ids, "")
        if ids.null_count:
            content = self._content_inputs(table)
            inputs = pc.coalesce(inputs, content)
        inputs = pc.cast(inputs, pa.binary())
        blake2b = hashlib.blake2b
        keys = []
        for start in range(0, len(inputs), KEY_SLICE):
            hashed = [
                blake2b(data, digest_size=16).hexdigest()
                for data in inputs.slice(start, KEY_SLICE).to_pylist()
            ]
            keys.append(pa.array(hashed, pa.string()))
        return pa.concat_arrays(keys) if keys else pa.array([], pa.string())

    def _names(self, table: pa.Table, field: str, valid: np.ndarray) -> pa.Array:
        normalizer = self.normalizer
        if field == "company":
            resolve = normalizer._company
        else:

            def resolve(value: str, problems: list[str]) -> str:
                return normalizer._name(
                    "car_model", value, problems, normalizer.model_cache
                )

        column = _column(table, getattr(self.plan, field))
        distinct = self._by_distinct(column, field, resolve)
        valid &= ~distinct.problem
        return distinct.spread(pa.string())

    def _times(self, values: pa.Array, valid: np.ndarray) -> dict[str, pa.Array]:
        iso, month_key = iso_month_keys(values)
        times = {
            "sold_at": iso_sold_at(values, iso),
            "sale_date": pc.utf8_slice_codeunits(values, 0, 10),
            "month_key": pa.array(month_key, pa.int32()),
            "utc_offset_minutes": pa.nulls(len(values), pa.int32()),
        }
        other = ~iso
        if not other.any():
            return times

        rows = np.flatnonzero(other)
        distinct = self._by_distinct(values.take(rows), "sale_date", self._time_parts)
        valid[rows] &= ~distinct.problem
        mask = pa.array(other)
        for part, name in enumerate(_TIME_PARTS):
            spread = distinct.spread(times[name].type, part)
            times[name] = pc.replace_with_mask(times[name], mask, spread)
        return times

    def _time_parts(self, value: str, problems: list[str]) -> tuple:
        """Return the stored forms of a sale time that ``Normalizer`` parses."""
        moment, offset = self.normalizer._sale_time(value, problems)
        day = moment.date()
        return (
            moment.isoformat(" "),
            day.isoformat(),
            day.year * 100 + day.month,
            offset,
        )

    def _prices(self, values: pa.Array, valid: np.ndarray) -> pa.Array:
        plain, cents = plain_cents(values, self.normalizer.spec.decimal)
        other = ~plain
        if not other.any():
            return pa.array(cents, pa.int64())

        rows = np.flatnonzero(other)
        distinct = self._by_distinct(values.take(rows), "price", self._price_cents)
        valid[rows] &= ~distinct.problem
        parsed = distinct.spread(pa.int64())
        cents[rows] = _to_numpy(pc.fill_null(parsed, 0))
        return pa.array(cents, pa.int64())

    def _price_cents(self, value: str, problems: list[str]) -> int:
        return price_cents(self.normalizer._price(value, problems))

    def _ids(self, table: pa.Table, valid: np.ndarray) -> pa.Array:
        if self.plan.id is None:
            return pa.nulls(table.num_rows, pa.string())
        values = _column(table, self.plan.id)
        empty = pc.equal(values, "")
        plain = pc.and_(
            pc.match_substring_regex(values, _PLAIN_ID),
            pc.less_equal(pc.utf8_length(values), MAX_ID_LENGTH),
        )
        # Ids with surrounding whitespace or over-long ids take the record path.
        valid &= _to_numpy(pc.or_(empty, plain))
        return pc.if_else(empty, pa.scalar(None, pa.string()), values)

    def _currencies(self, table: pa.Table, valid: np.ndarray) -> pa.Array:
        if self.plan.currency is None:
            code = pa.scalar(self.normalizer.spec.currency, pa.string())
            return pa.repeat(code, table.num_rows)
        column = _column(table, self.plan.currency)
        distinct = self._by_distinct(column, "currency", self.normalizer._currency)
        valid &= ~distinct.problem
        return distinct.spread(pa.string())

    def _by_distinct(
        self,
        values: pa.Array,
        field: str,
        resolve: Callable[[Any, list[str]], Any],
    ) -> Distinct:
        """Resolve each distinct value of ``values`` once.

        ``resolve(value, problems)`` is the ``Normalizer`` method for the field,
        or a wrapper of it. A value with a problem gets ``PROBLEM`` as its result.
        """
        encoded = pc.dictionary_encode(values)
        cache = self.caches[field]
        results = []
        for value in encoded.dictionary.to_pylist():
            result = cache.get(value, _UNSEEN)
            if result is _UNSEEN:
                problems: list[str] = []
                result = resolve(value, problems)
                if problems:
                    result = PROBLEM
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[value] = result
            results.append(result)
        indices = encoded.indices
        problem = np.array([result is PROBLEM for result in results], dtype=bool)
        return Distinct(results, indices, problem[_to_numpy(indices)])

    def _content_inputs(self, table: pa.Table) -> pa.Array:
        """Return ``"row\\x1f"`` and the orjson text of each row's raw fields."""
        parts: list[Any] = []
        escaped = np.zeros(table.num_rows, dtype=bool)
        for position, (name, key_json) in enumerate(self.json_keys):
            column = _column(table, name)
            escaped |= _to_numpy(pc.match_substring_regex(column, _JSON_ESCAPED))
            opening = ("row\x1f{" if position == 0 else ",") + key_json + ':"'
            parts.extend((opening, column, '"'))
        parts.append("}")
        text = pc.binary_join_element_wise(*parts, "")
        if not escaped.any():
            return text

        # Fields with quotes, backslashes or control characters are written by
        # orjson itself, as the record path does.
        rows = np.flatnonzero(escaped)
        slow = table.take(rows).to_pylist()
        exact = [
            "row\x1f" + orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode()
            for row in slow
        ]
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = True
        return pc.replace_with_mask(text, pa.array(mask), pa.array(exact, pa.string()))


def iso_month_keys(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Find the values in plain ISO form and return (found, year * 100 + month).

    The forms are ``YYYY-MM-DD``, and that date followed by a space or ``T`` and
    ``HH:MM`` or ``HH:MM:SS``, with a real calendar date, a time of day below
    24:00 and a year from ``MIN_YEAR`` to ``MAX_YEAR``. For these values
    ``datetime.fromisoformat`` gives a naive time in that year range, so the
    record path reads them without an offset.
    """
    rows = len(values)
    found = np.zeros(rows, dtype=bool)
    month_key = np.zeros(rows, dtype=np.int32)
    data_buffer = values.buffers()[2]
    if rows == 0 or data_buffer is None:
        return found, month_key

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + rows + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    lengths = np.diff(offsets)
    for length in _ISO_LENGTHS:
        selected = np.flatnonzero(lengths == length)
        if selected.size == 0:
            continue
        positions = offsets[selected, None] + np.arange(length, dtype=np.int32)
        chars = data[positions]
        good, keys = _check_iso(chars)
        found[selected] = good
        month_key[selected] = keys
    return found, month_key


def _check_iso(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check rows of ISO characters of one length; return (valid, month key)."""
    length = chars.shape[1]
    digits = chars.astype(np.int16) - ord("0")
    positions = [0, 1, 2, 3, 5, 6, 8, 9]
    if length >= 16:
        positions += [11, 12, 14, 15]
    if length == 19:
        positions += [17, 18]
    picked = digits[:, positions]
    good = ((picked >= 0) & (picked <= 9)).all(axis=1)
    good &= (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-"))

    def number(first: int) -> np.ndarray:
        # int32, because a year times 100 does not fit in int16.
        return digits[:, first].astype(np.int32) * 10 + digits[:, first + 1]

    if length >= 16:
        separator = chars[:, 10]
        good &= (separator == ord(" ")) | (separator == ord("T"))
        good &= chars[:, 13] == ord(":")
        good &= (number(11) <= 23) & (number(14) <= 59)
    if length == 19:
        good &= (chars[:, 16] == ord(":")) & (number(17) <= 59)

    year = number(0) * 100 + number(2)
    month = number(5)
    day = number(8)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    good &= (year >= MIN_YEAR) & (year <= MAX_YEAR)
    good &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    return good, year * 100 + month


def iso_sold_at(values: pa.Array, found: np.ndarray) -> pa.Array:
    """Write the ISO values as ``YYYY-MM-DD HH:MM:SS``, as ``isoformat(" ")`` does."""
    if not found.any():
        return values
    spaced = pc.replace_substring(values, "T", " ", max_replacements=1)
    lengths = _to_numpy(pc.binary_length(values))
    if (lengths[found] == 19).all():
        return spaced
    suffix = np.full(len(values), "", dtype=object)
    for length, text in _ISO_SUFFIX.items():
        suffix[lengths == length] = text
    return pc.binary_join_element_wise(spaced, pa.array(suffix, pa.string()), "")


def plain_cents(values: pa.Array, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Find plain prices above 0 and return (found, price in cents).

    A plain price is 1 to 12 digits, then optionally ``decimal`` and 1 or 2
    digits, so it needs no rounding and is at most ``MAX_PRICE``. The cents are
    exact: the text is cast to a 14-digit decimal with 2 places, never a float.
    """
    mark = re.escape(decimal)
    pattern = rf"^\d{{1,12}}(?:{mark}\d{{1,2}})?$"
    found = _to_numpy(pc.match_substring_regex(values, pattern))
    cents = np.zeros(len(values), dtype=np.int64)
    if not found.any():
        return found, cents
    text = pc.if_else(pa.array(found), values, "0")
    if decimal != ".":
        text = pc.replace_substring(text, decimal, ".")
    amounts = pc.cast(text, pa.decimal128(14, 2))
    cents[:] = _decimal_units(amounts)
    found &= cents > 0
    return found, cents


def _decimal_units(amounts: pa.Array) -> np.ndarray:
    """Return the unscaled values of a decimal128 array below 2**63 as int64.

    Arrow stores each value as a little-endian 128-bit integer, so the low
    64-bit word is the value itself when it is non-negative and below 2**63.
    """
    words = np.frombuffer(amounts.buffers()[1], dtype=np.int64)
    start = 2 * amounts.offset
    return words[start : start + 2 * len(amounts) : 2]


def records_table(records: list[SaleRecord], keys: list[str]) -> pa.Table:
    """Return normalised records from the record path as a batch table."""
    sold_at, sale_date, month_key, cents = [], [], [], []
    for record in records:
        day = record.sale_date
        sold_at.append(record.sold_at.isoformat(" "))
        sale_date.append(day.isoformat())
        month_key.append(day.year * 100 + day.month)
        cents.append(price_cents(record.price))
    columns = {
        "record_key": keys,
        "source_record_id": [record.source_record_id for record in records],
        "company": [record.company for record in records],
        "car_model": [record.car_model for record in records],
        "sold_at": sold_at,
        "utc_offset_minutes": [record.utc_offset_minutes for record in records],
        "sale_date": sale_date,
        "month_key": month_key,
        "price_cents": cents,
        "currency": [record.currency for record in records],
    }
    return pa.table(columns, schema=SALE_SCHEMA)


def price_cents(price: Decimal) -> int:
    """Return a price with 2 decimal places as a whole number of cents."""
    return int(price.scaleb(2))


def _sorted_json_keys(header: list[str]) -> list[tuple[str, str]]:
    """Return (column, key as JSON text) in the order orjson's OPT_SORT_KEYS uses."""
    ordered = orjson.loads(
        orjson.dumps(dict.fromkeys(header, ""), option=orjson.OPT_SORT_KEYS)
    )
    return [(name, orjson.dumps(name).decode()) for name in ordered]


def _column(table: pa.Table, name: str | None) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _to_numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.to_numpy(zero_copy_only=False)
