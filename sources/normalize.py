"""Normalisation: raw records to ``SaleRecord`` values, and record keys.

``Normalizer`` maps source columns to the canonical fields once per distinct set
of column names, then parses each record with cached per-value results, because
real files repeat the same dates, companies and models many times.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from sources.aliases import (
    ACRONYM_WORDS,
    alias_key,
    build_column_table,
    build_company_table,
    company_key,
)
from sources.dates import MAX_YEAR, MIN_YEAR, DateProblem, parse_sale_time
from sources.errors import SourceError, clip_text
from sources.prices import PriceParser, PriceProblem
from sources.records import RawRecord, Rejection, SaleRecord
from sources.spec import SourceSpec

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("company", "car_model", "sale_date", "price")
OPTIONAL_FIELDS = ("id", "currency")
# The sales table stores names of up to 120 characters and ids of up to 128, so
# longer values are rejected rather than cut.
MAX_NAME_LENGTH = 120
MAX_ID_LENGTH = 128
# Each value cache is emptied when it reaches this many entries.
CACHE_LIMIT = 200_000
CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
# Control characters that ``str.split`` does not treat as whitespace, DEL, and
# lone surrogates (from JSON escapes such as "\ud800"). PostgreSQL rejects NUL in
# text, and no database driver can encode a lone surrogate.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")
# Values shown in rejection reasons are cut to this many characters.
SHOWN_VALUE_LIMIT = 80
# Longer price text is rejected without parsing, so its reason stays short. The
# largest valid price written with separators and decimals is under 30 characters.
MAX_PRICE_TEXT = 64
# Columns listed by name when a required one is missing.
LISTED_COLUMNS = 30

MISSING = object()
ZERO = Decimal(0)


@dataclass(slots=True)
class ColumnPlan:
    """The column of each canonical field in records with one set of columns.

    Each field is a column name, a dotted path into nested JSON objects, or
    None when the source has no such column.
    """

    company: str | None
    car_model: str | None
    sale_date: str | None
    price: str | None
    id: str | None
    currency: str | None
    nested: bool

    def values(self, data: dict[str, Any]) -> tuple[Any, ...]:
        """Return the raw values of the 6 fields, ``MISSING`` where absent."""
        fields = (
            self.company,
            self.car_model,
            self.sale_date,
            self.price,
            self.id,
            self.currency,
        )
        return tuple(_lookup(data, column) for column in fields)


def _lookup(data: dict[str, Any], column: str | None) -> Any:
    if column is None:
        return MISSING
    if column in data:
        return data[column]
    value: Any = data
    for key in column.split("."):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def clean_text(value: str) -> str:
    """Trim ``value`` and collapse inner whitespace (tabs, newlines, NBSP) to spaces.

    Other control characters (NUL, escape, DEL) and lone surrogates are removed.
    """
    if not value.isprintable():
        value = _UNPRINTABLE.sub("", value)
    return " ".join(value.split())


class Normalizer:
    """Turn raw records of one source into ``SaleRecord`` values or rejections.

    ``company_aliases`` maps extra company spellings to canonical names on top of
    the defaults in ``sources.aliases``.
    """

    def __init__(
        self,
        spec: SourceSpec,
        company_aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.prices = PriceParser(spec.decimal, spec.thousands)
        self.companies_table = build_company_table(company_aliases)
        self.column_table = build_column_table()
        self.plans: dict[tuple[str, ...], ColumnPlan] = {}
        self.first_plan: ColumnPlan | None = None
        self.date_cache: dict[Any, tuple[datetime, int | None] | str] = {}
        self.company_cache: dict[str, str] = {}
        self.model_cache: dict[str, str] = {}

    def normalize(self, raw: RawRecord) -> SaleRecord | Rejection:
        """Return the sale in ``raw``, or a ``Rejection`` naming each bad field.

        Raise ``SourceError`` when the first record has no column for a required
        field, because then every row would be rejected for the same reason.
        """
        data = raw.data
        plan = self.plans.get(tuple(data))
        if plan is None:
            plan = self._plan_for(data)
        if plan.nested:
            values = plan.values(data)
        else:
            get = data.get
            values = (
                get(plan.company, MISSING),
                get(plan.car_model, MISSING),
                get(plan.sale_date, MISSING),
                get(plan.price, MISSING),
                get(plan.id, MISSING),
                get(plan.currency, MISSING),
            )
        problems: list[str] = []

        company = self.company_cache.get(values[0]) if type(values[0]) is str else None
        if company is None:
            company = self._company(values[0], problems)
        car_model = self.model_cache.get(values[1]) if type(values[1]) is str else None
        if car_model is None:
            car_model = self._name("car_model", values[1], problems, self.model_cache)
        sold_at, offset = self._sale_time(values[2], problems)
        price = self._price(values[3], problems)
        source_id = self._source_id(values[4], problems)
        currency = self._currency(values[5], problems)
        if problems:
            return Rejection(raw.line_no, raw.raw, clip_text("; ".join(problems)))
        return SaleRecord(
            company,
            car_model,
            sold_at,
            sold_at.date(),
            price,
            offset,
            source_id,
            currency,
            raw.line_no,
        )

    def sale_date_value(self, raw: RawRecord) -> Any:
        """Return the raw value of the sale date column of ``raw``, or None."""
        plan = self.plans.get(tuple(raw.data))
        if plan is None:
            plan = self._plan_for(raw.data)
        if plan.nested:
            return plan.values(raw.data)[2]
        return raw.data.get(plan.sale_date) if plan.sale_date else None

    def _plan_for(self, data: dict[str, Any]) -> ColumnPlan:
        columns = list(data)
        found = {}
        for field in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            column = self._find_column(field, columns)
            if column is not None:
                found[field] = column
        missing = [
            field
            for field in REQUIRED_FIELDS + OPTIONAL_FIELDS
            if field not in found
            and (field in REQUIRED_FIELDS or self.spec.mapping.get(field))
        ]
        if missing and self.first_plan is None:
            raise SourceError(self._missing_message(missing, columns))
        plan = ColumnPlan(
            company=found.get("company"),
            car_model=found.get("car_model"),
            sale_date=found.get("sale_date"),
            price=found.get("price"),
            id=found.get("id"),
            currency=found.get("currency"),
            nested=any(column not in data for column in found.values()),
        )
        if self.first_plan is None:
            self.first_plan = plan
            log.info("%s: columns mapped as %s", self.spec.display_name, found)
        self.plans[tuple(data)] = plan
        return plan

    def _find_column(self, field: str, columns: list[str]) -> str | None:
        mapped = self.spec.mapping.get(field)
        by_key = {}
        for column in columns:
            by_key.setdefault(alias_key(column), column)
        if mapped:
            if mapped in columns:
                return mapped
            if "." in mapped and mapped.split(".", 1)[0] in columns:
                return mapped
            return by_key.get(alias_key(mapped))
        for alias in self.column_table[field]:
            if alias in by_key:
                return by_key[alias]
        return None

    def _missing_message(self, missing: list[str], columns: list[str]) -> str:
        listed = ", ".join(
            clip_text(str(column), 40) for column in columns[:LISTED_COLUMNS]
        )
        if len(columns) > LISTED_COLUMNS:
            listed += f" and {len(columns) - LISTED_COLUMNS:,} more"
        listed = listed or "none"
        unmapped = [field for field in missing if not self.spec.mapping.get(field)]
        parts = []
        if unmapped:
            parts.append(f"no column for {_join_words(unmapped, 'or')}")
        for field in missing:
            if field not in unmapped:
                column = self.spec.mapping[field]
                parts.append(f"the column {column!r} mapped to {field} is not there")
        return (
            f"{self.spec.display_name}: {' and '.join(parts)}; columns are: "
            f"{listed}. Set a column mapping for the missing fields."
        )

    def _name(
        self, field: str, value: Any, problems: list[str], cache: dict[str, str]
    ) -> str:
        if isinstance(value, str):
            cleaned = clean_text(value)
        elif value is MISSING:
            problems.append(f"{field} is missing")
            return ""
        elif value is None:
            problems.append(f"{field} is empty")
            return ""
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            cleaned = str(value)
        else:
            problems.append(f"{field} {_show(value)} is not text")
            return ""
        if not cleaned:
            problems.append(f"{field} is empty")
            return ""
        if len(cleaned) > MAX_NAME_LENGTH:
            problems.append(f"{field} is longer than {MAX_NAME_LENGTH} characters")
            return ""
        if isinstance(value, str):
            _remember(cache, value, cleaned)
        return cleaned

    def _company(self, value: Any, problems: list[str]) -> str:
        cleaned = self._name("company", value, problems, {})
        if not cleaned:
            return ""
        company = canonical_company(cleaned, self.companies_table)
        if isinstance(value, str):
            _remember(self.company_cache, value, company)
        return company

    def _sale_time(
        self, value: Any, problems: list[str]
    ) -> tuple[datetime, int | None]:
        if type(value) is str:
            cached = self.date_cache.get(value)
            if cached is not None and type(cached) is tuple:
                return cached
            if cached is None and len(value) >= 10 and value[4] == "-":
                parsed = _iso_fast_path(value)
                if parsed is not None:
                    return parsed
        elif value is MISSING:
            problems.append("sale_date is missing")
            return datetime.min, None
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append("sale_date is empty")
            return datetime.min, None
        try:
            cached = self.date_cache.get(value)
        except TypeError:
            cached = None
        if cached is None:
            try:
                cached = parse_sale_time(value, self.spec.date_order)
            except DateProblem as exc:
                cached = f"sale_date {_show(value)} {exc}"
            if isinstance(value, str | int):
                _remember(self.date_cache, value, cached)
        if isinstance(cached, str):
            problems.append(cached)
            return datetime.min, None
        return cached

    def _price(self, value: Any, problems: list[str]) -> Decimal:
        if type(value) is str:
            price = self.prices.parse_plain(value)
            if price is not None:
                return price
            if len(value.strip()) > MAX_PRICE_TEXT:
                problems.append(f"price {_show(value)} is not a number")
                return ZERO
        elif value is MISSING:
            problems.append("price is missing")
            return ZERO
        elif value is None:
            problems.append("price is empty")
            return ZERO
        try:
            return self.prices.parse(value)
        except PriceProblem as exc:
            problems.append(str(exc))
            return ZERO

    def _source_id(self, value: Any, problems: list[str]) -> str | None:
        if type(value) is str:
            text = value.strip()
        elif value is MISSING or value is None or isinstance(value, bool):
            return None
        elif isinstance(value, dict | list):
            problems.append(f"id {_show(value)} is not a single value")
            return None
        else:
            text = str(value)
        if len(text) > MAX_ID_LENGTH:
            problems.append(f"id is longer than {MAX_ID_LENGTH} characters")
            return None
        if not text.isprintable() and _UNPRINTABLE.search(text):
            problems.append(f"id {_show(text)} contains a control character")
            return None
        return text or None

    def _currency(self, value: Any, problems: list[str]) -> str | None:
        if value is MISSING or value is None or value == "":
            return self.spec.currency
        if not isinstance(value, str):
            problems.append(f"currency {_show(value)} is not a 3-letter code")
            return None
        text = value.strip()
        code = CURRENCY_SIGNS.get(text, text.upper())
        if len(code) != 3 or not code.isalpha():
            problems.append(f"currency {value!r} is not a 3-letter code such as EUR")
            return None
        return code


def _iso_fast_path(value: str) -> tuple[datetime, int | None] | None:
    """Parse a plain ISO date or date-time without offset, or return None."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None or not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return moment, None


def canonical_company(name: str, table: Mapping[str, str]) -> str:
    """Return the canonical spelling of a cleaned company name.

    A name in the alias table gets its canonical form. Any other name written all
    in lower or all in upper case is re-cased word by word (``ACME MOTORS`` gives
    ``Acme Motors``), keeping known acronyms such as GMC in capitals. Mixed-case
    names are kept as written.
    """
    canonical = table.get(company_key(name))
    if canonical is not None:
        return canonical
    if not (name.islower() or name.isupper()):
        return name
    words = []
    for word in name.split(" "):
        if company_key(word) in ACRONYM_WORDS:
            words.append(word.upper())
        else:
            words.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(words)


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _join_words(words: list[str], conjunction: str) -> str:
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _show(value: Any) -> str:
    """Return ``value`` as a rejection reason quotes it, cut to a readable length."""
    if isinstance(value, str):
        return repr(clip_text(value, SHOWN_VALUE_LIMIT))
    return clip_text(str(value), SHOWN_VALUE_LIMIT)


def record_key(identity: str, record: SaleRecord, raw: RawRecord) -> str:
    """Return the 32-hex-digit key that makes loading the same sale twice a no-op.

    A record with a source id is keyed by ``identity`` (the source) and the id as
    text, so "007" and "7" differ, while the number 7 and the string "7" match.
    A record without one is keyed by every raw field of ``raw``, whatever the
    source: two rows that differ only in a column Forecourt does not store (a
    VIN, a dealer) are two sales, while a repeated row is a duplicate.
    """
    digest = hashlib.blake2b(digest_size=16)
    if record.source_record_id is not None:
        digest.update(f"id\x1f{identity}\x1f{record.source_record_id}".encode())
    else:
        digest.update(b"row\x1f")
        digest.update(_row_bytes(raw.data))
    return digest.hexdigest()


def _row_bytes(data: dict[str, Any]) -> bytes:
    """Serialise a raw record's fields in a stable order, for its record key.

    orjson refuses integers outside 64 bits and strings with lone surrogates,
    which JSON sources may hold, so those records go through the standard
    library's encoder instead. The same row always takes the same path, so its
    key does not change between fetches.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    except orjson.JSONEncodeError:
        text = json.dumps(
            data, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":")
        )
        return text.encode("utf-8", errors="surrogatepass")
