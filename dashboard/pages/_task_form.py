"""Turn the new-task form's values into the source and filter dicts of a task spec.

Kept apart from the page (Dash skips modules whose names start with ``_``) so the
conversion can be tested without a browser. Only what the form cannot express as
a spec is checked here, such as a ``key=value`` line without ``=``. Everything
else goes to ``sources.spec`` through ``tasks_service.create_task``, which raises
``SpecError`` naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from sources.errors import SpecError

# Form values read from one component each, with the id "new-task-<name>" where
# underscores become hyphens.
FIELDS = (
    "name",
    "kind",
    "origin",
    "stored",
    "file_url",
    "api_url",
    "params",
    "headers",
    "records_path",
    "json_format",
    "delimiter",
    "decimal",
    "thousands",
    "encoding",
    "date_order",
    "currency",
    "pagination_style",
    "page_param",
    "start",
    "size_param",
    "size",
    "offset_param",
    "limit_param",
    "limit",
    "cursor_param",
    "cursor_path",
    "next_path",
    "max_pages",
    "map_id",
    "map_company",
    "map_car_model",
    "map_sale_date",
    "map_price",
    "map_currency",
    "companies",
    "models",
)
FILE_KINDS = ("json", "csv")
ORIGINS = ("upload", "stored", "url")
PAGINATION_FIELDS = {
    "page": ("page_param", "start", "size_param", "size"),
    "offset": ("offset_param", "limit_param", "limit"),
    "cursor": ("cursor_param", "cursor_path"),
    "next": ("next_path",),
}
NUMBER_FIELDS = ("start", "size", "limit", "max_pages")
MAPPED_FIELDS = ("id", "company", "car_model", "sale_date", "price", "currency")
# "auto" in a select means: leave the setting out and let the reader detect it.
AUTO = "auto"
NO_THOUSANDS = "none"
STORED_PATH = "path:"
STORED_UPLOAD = "upload:"

# Form labels for the dotted spec fields, so an error names the field on screen.
FIELD_LABELS = {
    "name": "Task name",
    "source": "Source",
    "source.kind": "Source kind",
    "source.path": "Stored file",
    "source.upload_id": "Uploaded file",
    "source.url": "URL",
    "source.format": "JSON format",
    "source.records_path": "Records path",
    "source.encoding": "Encoding",
    "source.delimiter": "Delimiter",
    "source.decimal": "Decimal mark",
    "source.thousands": "Thousands separator",
    "source.date_order": "Date order",
    "source.currency": "Currency",
    "source.params": "Query parameters",
    "source.headers": "Headers",
    "source.pagination": "Pagination",
    "source.pagination.style": "Pagination style",
    "source.mapping": "Column mapping",
    "filters": "Sourcing filters",
    "filters.date_from": "Sold from",
    "filters.date_to": "Sold until",
    "filters.companies": "Companies filter",
    "filters.models": "Models filter",
    "file": "File",
}


def field_label(field: str) -> str:
    """Return the form label for a dotted spec field, falling back to the field."""
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    if field.startswith("source.mapping."):
        return f"Column for {field.rsplit('.', 1)[1]}"
    if field.startswith("source.pagination."):
        return "Pagination " + field.rsplit(".", 1)[1].replace("_", " ")
    if field.startswith(("source.params.", "source.headers.")):
        group, name = field.split(".")[1:3]
        return f"{FIELD_LABELS['source.' + group]} ({name})"
    return field


def error_text(error: SpecError) -> str:
    """Phrase a ``SpecError`` as a sentence that starts with the form label."""
    message = error.message.rstrip(".")
    return f"{field_label(error.field)}: {message}."


def parse_pairs(text: str | None, field: str) -> dict[str, str]:
    """Parse ``name=value`` lines (``name: value`` also works) into a dict.

    Blank lines are skipped. A line without a separator or with an empty name
    raises ``SpecError`` naming the line.
    """
    pairs: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = re.match(r"^\s*([^=:]*?)\s*[=:]\s?(.*)$", line)
        if match is None:
            raise SpecError(
                field,
                f"line {number} ({line.strip()!r}) has no '='; "
                "write one name=value per line",
            )
        name, value = match.group(1), match.group(2).strip()
        if not name:
            raise SpecError(
                field, f"line {number} ({line.strip()!r}) has no name before '='"
            )
        pairs[name] = value
    return pairs


def parse_names(text: str | None) -> list[str]:
    """Split a comma- or newline-separated list of names, dropping blanks."""
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


def _number(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise SpecError(field, f"must be a whole number, got {value!r}") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _file_location(values: dict[str, Any], kind: str) -> dict[str, str]:
    origin = values.get("origin") or "upload"
    if origin == "upload":
        upload_id = _text(values.get("upload_id"))
        if not upload_id:
            raise SpecError(
                "source.upload_id",
                "is missing; upload a file first, or choose a stored file",
            )
        return {"upload_id": upload_id}
    if origin == "stored":
        stored = _text(values.get("stored")) or ""
        if stored.startswith(STORED_UPLOAD):
            return {"upload_id": stored[len(STORED_UPLOAD) :]}
        if stored.startswith(STORED_PATH):
            return {"path": stored[len(STORED_PATH) :]}
        raise SpecError("source.path", "is missing; choose a file from the list")
    if origin == "url":
        if kind == "csv":
            raise SpecError(
                "source.url",
                "cannot be used for a CSV source; upload the file or choose a "
                "stored file",
            )
        return {"url": _text(values.get("file_url")) or ""}
    raise SpecError("source", f"origin {origin!r} is not one of {', '.join(ORIGINS)}")


def _csv_options(values: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    delimiter = values.get("delimiter") or AUTO
    if delimiter != AUTO:
        options["delimiter"] = delimiter
    options["decimal"] = values.get("decimal") or "."
    thousands = values.get("thousands") or AUTO
    if thousands == NO_THOUSANDS:
        options["thousands"] = ""
    elif thousands != AUTO:
        options["thousands"] = thousands
    return options


def _pagination(values: dict[str, Any]) -> dict[str, Any]:
    style = values.get("pagination_style") or "none"
    pagination: dict[str, Any] = {"style": style}
    for name in (*PAGINATION_FIELDS.get(style, ()), "max_pages"):
        field = f"source.pagination.{name}"
        value = values.get(name)
        if name in NUMBER_FIELDS:
            number = _number(value, field)
            if number is not None:
                pagination[name] = number
        elif _text(value):
            pagination[name] = _text(value)
    return pagination


def build_source(values: dict[str, Any]) -> dict[str, Any]:
    """Build the source dict of a task spec from the form's values."""
    kind = values.get("kind")
    if not kind:
        raise SpecError(
            "source.kind", "is missing; choose JSON file, CSV file or HTTP API"
        )
    source: dict[str, Any] = {"kind": kind}

    if kind in FILE_KINDS:
        source.update(_file_location(values, kind))
    else:
        source["url"] = _text(values.get("api_url")) or ""
        source["params"] = parse_pairs(values.get("params"), "source.params")
        source["headers"] = parse_pairs(values.get("headers"), "source.headers")
        source["pagination"] = _pagination(values)

    if kind in ("json", "api"):
        records_path = _text(values.get("records_path"))
        if records_path:
            source["records_path"] = records_path
    if kind == "json":
        source["format"] = values.get("json_format") or AUTO
    if kind == "csv":
        source.update(_csv_options(values))
    if kind in FILE_KINDS:
        source["encoding"] = values.get("encoding") or AUTO
        source["date_order"] = values.get("date_order") or AUTO

    currency = _text(values.get("currency"))
    if currency:
        source["currency"] = currency
    mapping = {
        name: _text(values.get(f"map_{name}"))
        for name in MAPPED_FIELDS
        if _text(values.get(f"map_{name}"))
    }
    if mapping:
        source["mapping"] = mapping
    return source


def build_filters(values: dict[str, Any]) -> dict[str, Any]:
    """Build the sourcing filters dict from the form's values."""
    return {
        "date_from": _text(values.get("date_from")),
        "date_to": _text(values.get("date_to")),
        "companies": parse_names(values.get("companies")),
        "models": parse_names(values.get("models")),
    }


def form_values(source: dict[str, Any]) -> dict[str, Any]:
    """Turn an API source dict (such as the demo feed preset) into form values."""
    pagination = source.get("pagination") or {}
    values = {
        "kind": source.get("kind"),
        "api_url": source.get("url") or "",
        "params": "\n".join(
            f"{name}={value}" for name, value in (source.get("params") or {}).items()
        ),
        "headers": "\n".join(
            f"{name}={value}" for name, value in (source.get("headers") or {}).items()
        ),
        "records_path": source.get("records_path") or "",
        "pagination_style": pagination.get("style", "none"),
    }
    for names in PAGINATION_FIELDS.values():
        for name in names:
            values[name] = pagination.get(name)
    values["max_pages"] = pagination.get("max_pages")
    return values
