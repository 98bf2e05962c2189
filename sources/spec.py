"""Validation of task specs: where the records come from and which to keep.

A spec arrives as JSON from the REST API or the new-task form. It is checked here
once, before a task is stored, so that a bad spec never reaches the queue. Each
``SpecError`` names the dotted field that is wrong.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sources.errors import SpecError
from sources.http import SECRET_MASK, is_secret_name, masked_url, validate_url

KINDS = ("json", "csv", "api")
CANONICAL_FIELDS = ("id", "company", "car_model", "sale_date", "price", "currency")
JSON_FORMATS = ("auto", "array", "ndjson")
PAGINATION_STYLES = ("none", "page", "offset", "cursor", "next")
DATE_ORDERS = ("auto", "mdy", "dmy", "ymd")
MAX_PAGES_LIMIT = 100_000
# A longer source.path is rejected before it reaches the file system.
MAX_PATH_LENGTH = 1024
# An HTTP header name is a token of RFC 9110 (section 5.6.2).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Control characters other than tab end or split a header line on the wire.
_HEADER_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(slots=True)
class Pagination:
    """How an API source asks for the next page.

    ``page``: sends ``page_param`` = start, start + 1, ... until a page is empty.
    ``offset``: sends ``offset_param`` and ``limit_param``.
    ``cursor``: reads the cursor at ``cursor_path`` in each response and sends it
    back as ``cursor_param``. ``next``: follows the URL at ``next_path``.
    """

    style: str = "none"
    page_param: str = "page"
    start: int = 1
    size_param: str | None = None
    size: int | None = None
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = 100
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    next_path: str = "next"
    max_pages: int = 1000


@dataclass(slots=True)
class SourceSpec:
    kind: str
    path: str | None = None  # resolved absolute path of a stored file
    upload_id: str | None = None
    upload_name: str | None = None  # the uploaded file's name, for messages
    url: str | None = None
    format: str = "auto"  # JSON only: auto, array or ndjson
    records_path: str | None = None  # dotted key path to the records list
    encoding: str = "auto"
    delimiter: str | None = None  # None detects , ; tab or |
    decimal: str = "."
    thousands: str | None = None  # None accepts , (with a . decimal) or space
    date_order: str = "auto"  # for dates such as 1/2/2022
    currency: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    pagination: Pagination = field(default_factory=Pagination)
    mapping: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as stored on the task, secrets included."""
        return asdict(self)

    def public_dict(self) -> dict[str, Any]:
        """Return the spec for responses and logs, secrets masked.

        Header values are masked, and so are the values of query parameters whose
        names look like credentials, in ``params`` and in the URL.
        """
        data = asdict(self)
        data["headers"] = {name: SECRET_MASK for name in self.headers}
        data["params"] = {
            name: SECRET_MASK if is_secret_name(name) else value
            for name, value in self.params.items()
        }
        if self.url:
            data["url"] = masked_url(self.url)
        return data

    @property
    def display_name(self) -> str:
        """A short name for the source, shown in lists and stored on each sale.

        A URL is shown with the values of secret query parameters masked.
        """
        if self.url:
            return masked_url(self.url)[:255]
        if self.path:
            return Path(self.path).name
        if self.upload_name:
            return self.upload_name
        return f"upload {self.upload_id}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSpec:
        """Rebuild a spec that ``parse_source_spec`` already validated."""
        values = dict(data)
        values["pagination"] = Pagination(**values.get("pagination") or {})
        return cls(**values)


@dataclass(slots=True)
class Filters:
    """Sourcing filters: records outside them are counted as filtered out."""

    date_from: date | None = None
    date_to: date | None = None
    companies: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "companies": list(self.companies),
            "models": list(self.models),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Filters:
        return parse_filters(data or {})


def json_kind(value: Any) -> str:
    """Name the JSON type of ``value`` with its article, such as "a list".

    Errors name the type instead of showing the value, because a value in the
    wrong place may be a secret.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _string(data: dict, key: str, where: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise SpecError(f"{where}.{key}", "is required")
        return None
    if not isinstance(value, str):
        raise SpecError(f"{where}.{key}", f"must be a string, got {json_kind(value)}")
    return value.strip()


def _string_map(data: dict, key: str, where: str) -> dict[str, str]:
    """Read an object of names to strings or numbers; values are never echoed."""
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise SpecError(
            f"{where}.{key}",
            f"must be an object of names and values, got {json_kind(value)}",
        )
    result = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{where}.{key}", f"has an empty or invalid name {name!r}")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise SpecError(
                f"{where}.{key}.{_printable(name)}",
                f"must be a string or number, got {json_kind(item)}",
            )
        result[name.strip()] = str(item)
    return result


def _printable(text: str) -> str:
    """Return ``text`` with control characters written as escapes, for messages."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape", errors="backslashreplace").decode("ascii")


def _headers(data: dict) -> dict[str, str]:
    """Read ``source.headers``: valid names, values without control characters.

    Values are trimmed, and a bad value is named by its header, never shown.
    """
    headers = {}
    for name, value in _string_map(data, "headers", "source").items():
        where = f"source.headers.{_printable(name)}"
        if not _HEADER_NAME.fullmatch(name):
            raise SpecError(
                where,
                "is not a valid header name; use letters, digits and dashes, "
                "such as X-Api-Key",
            )
        if _HEADER_VALUE_CONTROL.search(value):
            raise SpecError(
                where,
                "contains a line break, NUL or other control character; remove it "
                "from the header value",
            )
        headers[name] = value.strip(" \t")
    return headers


def _positive_int(value: Any, where: str, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(where, f"must be a whole number of at least 1, got {value!r}")
    if maximum is not None and value > maximum:
        raise SpecError(where, f"must be at most {maximum}, got {value}")
    return value


def resolve_data_path(path: str, data_dirs: list[str]) -> str:
    """Resolve ``path`` to an existing file inside one of ``data_dirs``.

    ``path`` may be relative to a data folder (``sample_data_b.csv``) or to the
    folder that holds it (``data/sample_data_b.csv``). Anything that resolves
    outside every data folder is rejected, so ``../`` cannot reach other files.
    Messages never show the server's folders.
    """
    if "\x00" in path:
        raise SpecError(
            "source.path",
            "contains a NUL character; give the name of a stored file, such as "
            "sample_data.csv",
        )
    if len(path) > MAX_PATH_LENGTH:
        raise SpecError(
            "source.path",
            f"is {len(path):,} characters long; use at most {MAX_PATH_LENGTH:,}",
        )
    try:
        found = _find_data_file(path, data_dirs)
    except (OSError, ValueError):
        found = None
    if found is None:
        raise SpecError(
            "source.path",
            f"file not found: {path!r} is not a file in the data folders; the "
            "stored files are listed on the New task page",
        )
    return found


def _find_data_file(path: str, data_dirs: list[str]) -> str | None:
    roots = [Path(d).resolve() for d in data_dirs]
    requested = Path(path)
    candidates = []
    if requested.is_absolute():
        candidates.append(requested.resolve())
    else:
        for root in roots:
            candidates.append((root / requested).resolve())
            candidates.append((root.parent / requested).resolve())
    for candidate in candidates:
        inside = any(candidate.is_relative_to(root) for root in roots)
        if inside and candidate.is_file():
            return str(candidate)
    return None


def _parse_pagination(data: Any) -> Pagination:
    if data is None:
        return Pagination()
    if not isinstance(data, dict):
        raise SpecError(
            "source.pagination", f"must be an object, got {json_kind(data)}"
        )
    style = data.get("style", "none")
    if style not in PAGINATION_STYLES:
        raise SpecError(
            "source.pagination.style",
            f"{style!r} is not one of {', '.join(PAGINATION_STYLES)}",
        )
    known = set(Pagination.__slots__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(
            f"source.pagination.{unknown[0]}",
            f"is not a pagination setting; use {', '.join(sorted(known))}",
        )
    pagination = Pagination(style=style)
    for name in (
        "page_param",
        "size_param",
        "offset_param",
        "limit_param",
        "cursor_param",
        "cursor_path",
        "next_path",
    ):
        if name in data and data[name] is not None:
            value = data[name]
            if not isinstance(value, str) or not value.strip():
                raise SpecError(
                    f"source.pagination.{name}", f"must be a name, got {value!r}"
                )
            setattr(pagination, name, value.strip())
    if "start" in data:
        start = data["start"]
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise SpecError(
                "source.pagination.start", f"must be 0 or more, got {start!r}"
            )
        pagination.start = start
    for name in ("size", "limit"):
        if data.get(name) is not None:
            setattr(
                pagination,
                name,
                _positive_int(data[name], f"source.pagination.{name}", 100_000),
            )
    if data.get("max_pages") is not None:
        pagination.max_pages = _positive_int(
            data["max_pages"], "source.pagination.max_pages", MAX_PAGES_LIMIT
        )
    return pagination


def parse_source_spec(
    data: Any,
    *,
    data_dirs: list[str],
    allowed_networks: list[str] | None = None,
) -> SourceSpec:
    """Validate a source spec and return it, or raise ``SpecError``.

    An ``upload_id`` is only checked for form here; the caller checks that the
    upload exists and belongs to the user.
    """
    if not isinstance(data, dict):
        raise SpecError("source", f"must be an object, got {json_kind(data)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise SpecError("source.kind", f"{kind!r} is not one of json, csv, api")
    spec = SourceSpec(kind=kind)

    path = _string(data, "path", "source")
    upload_id = _string(data, "upload_id", "source")
    url = _string(data, "url", "source")
    given = [
        name
        for name, value in (("path", path), ("upload_id", upload_id), ("url", url))
        if value
    ]
    if kind == "api":
        if not url:
            raise SpecError("source.url", "is required for an api source")
        if path or upload_id:
            raise SpecError("source", "an api source takes a url, not a path or upload")
    elif len(given) != 1:
        allowed = "path or upload_id" if kind == "csv" else "path, upload_id or url"
        raise SpecError("source", f"give exactly one of {allowed}")
    if kind == "csv" and url:
        raise SpecError("source.url", "a csv source reads a stored file or an upload")

    if path:
        spec.path = resolve_data_path(path, data_dirs)
    if upload_id:
        if not upload_id.isalnum() or len(upload_id) > 32:
            raise SpecError("source.upload_id", f"{upload_id!r} is not an upload id")
        spec.upload_id = upload_id
    if url:
        validate_url(url, allowed_networks or [], field="source.url")
        spec.url = url

    json_format = data.get("format", "auto")
    if json_format not in JSON_FORMATS:
        raise SpecError(
            "source.format", f"{json_format!r} is not one of auto, array, ndjson"
        )
    spec.format = json_format
    spec.records_path = _string(data, "records_path", "source")

    spec.encoding = _encoding(data)

    delimiter = data.get("delimiter")
    if delimiter is not None:
        if delimiter in ("\\t", "tab"):
            delimiter = "\t"
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise SpecError(
                "source.delimiter", f"must be one character, got {delimiter!r}"
            )
        spec.delimiter = delimiter
    decimal = data.get("decimal", ".")
    if decimal not in (".", ","):
        raise SpecError("source.decimal", f"must be '.' or ',', got {decimal!r}")
    spec.decimal = decimal
    thousands = data.get("thousands")
    if thousands is not None:
        if thousands not in (",", ".", " ", "'", ""):
            raise SpecError(
                "source.thousands",
                f"must be one of ',', '.', ' ', \"'\" or '', got {thousands!r}",
            )
        if thousands == decimal:
            raise SpecError(
                "source.thousands", f"must differ from the decimal mark {decimal!r}"
            )
        spec.thousands = thousands
    date_order = data.get("date_order", "auto")
    if date_order not in DATE_ORDERS:
        raise SpecError(
            "source.date_order",
            f"{date_order!r} is not one of {', '.join(DATE_ORDERS)}",
        )
    spec.date_order = date_order
    currency = _string(data, "currency", "source")
    if currency is not None:
        if len(currency) != 3 or not currency.isalpha():
            raise SpecError("source.currency", f"{currency!r} is not a 3-letter code")
        spec.currency = currency.upper()

    spec.params = _string_map(data, "params", "source")
    spec.headers = _headers(data)
    spec.pagination = _parse_pagination(data.get("pagination"))
    if kind != "api" and spec.pagination.style != "none":
        raise SpecError("source.pagination", "only an api source is paginated")

    mapping = _string_map(data, "mapping", "source")
    for name in mapping:
        if name not in CANONICAL_FIELDS:
            raise SpecError(
                f"source.mapping.{name}",
                f"is not a field; map one of {', '.join(CANONICAL_FIELDS)}",
            )
    spec.mapping = mapping

    known = {
        "kind",
        "path",
        "upload_id",
        "url",
        "format",
        "records_path",
        "encoding",
        "delimiter",
        "decimal",
        "thousands",
        "date_order",
        "currency",
        "params",
        "headers",
        "pagination",
        "mapping",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"source.{unknown[0]}", "is not a source setting")
    return spec


def _encoding(data: dict) -> str:
    """Read ``source.encoding``: ``auto`` or a codec that decodes bytes to text.

    Codecs such as rot13, base64 and zlib_codec exist in Python but turn bytes
    into bytes or text into text, so they are rejected.
    """
    encoding = _string(data, "encoding", "source") or "auto"
    if encoding == "auto":
        return encoding
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        codec = None
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        raise SpecError(
            "source.encoding",
            f"{encoding!r} is not a known text encoding; use auto or an encoding "
            "such as utf-8, cp1252 or latin-1",
        )
    return encoding


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SpecError(where, f"must be an ISO date such as 2023-01-31, got {value!r}")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SpecError(
            where, f"{value!r} is not an ISO date; use YYYY-MM-DD such as 2023-01-31"
        ) from None


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(where, f"must be a list of names, got {value!r}")
    return [v.strip() for v in value if v.strip()]


def parse_filters(data: Any) -> Filters:
    """Validate sourcing filters and return them, or raise ``SpecError``."""
    if data is None:
        return Filters()
    if not isinstance(data, dict):
        raise SpecError("filters", f"must be an object, got {data!r}")
    unknown = sorted(set(data) - {"date_from", "date_to", "companies", "models"})
    if unknown:
        raise SpecError(
            f"filters.{unknown[0]}",
            "is not a filter; use date_from, date_to, companies or models",
        )
    filters = Filters(
        date_from=_date(data.get("date_from"), "filters.date_from"),
        date_to=_date(data.get("date_to"), "filters.date_to"),
        companies=_names(data.get("companies"), "filters.companies"),
        models=_names(data.get("models"), "filters.models"),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise SpecError(
            "filters.date_to",
            f"{filters.date_to} is before date_from {filters.date_from}",
        )
    return filters
