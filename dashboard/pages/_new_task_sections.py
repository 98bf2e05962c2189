"""The sections of the new-task form, and the ids of their components.

Dash skips modules whose names start with ``_`` when it looks for pages, so this
module only builds layout. The page and its callbacks are in ``new_task``.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.components import icon

PREFIX = "new-task"
NAME_ID = f"{PREFIX}-name"
KIND_ID = f"{PREFIX}-kind"
DEMO_ID = f"{PREFIX}-demo"
ORIGIN_ID = f"{PREFIX}-origin"
UPLOAD_ID = f"{PREFIX}-upload"
UPLOAD_STORE_ID = f"{PREFIX}-upload-store"
UPLOAD_STATUS_ID = f"{PREFIX}-upload-status"
STORED_ID = f"{PREFIX}-stored"
FILE_SECTION_ID = f"{PREFIX}-file-section"
UPLOAD_PANE_ID = f"{PREFIX}-upload-pane"
STORED_PANE_ID = f"{PREFIX}-stored-pane"
URL_PANE_ID = f"{PREFIX}-url-pane"
API_SECTION_ID = f"{PREFIX}-api-section"
CSV_SECTION_ID = f"{PREFIX}-csv-section"
JSON_SECTION_ID = f"{PREFIX}-json-section"
RECORDS_PATH_ROW_ID = f"{PREFIX}-records-path-row"
ENCODING_ROW_ID = f"{PREFIX}-encoding-row"
SUBMIT_ID = f"{PREFIX}-submit"
ALERT_ID = f"{PREFIX}-alert"
REDIRECT_ID = f"{PREFIX}-redirect"
PAGINATION_PANES = ("page", "offset", "cursor", "next")
HIDDEN = "d-none"


def field_id(name: str) -> str:
    """Return the component id of a form value, such as ``new-task-api-url``."""
    return f"{PREFIX}-{name.replace('_', '-')}"


def _label(text: str, name: str, hint: str | None = None) -> list:
    children: list = [dbc.Label(text, html_for=field_id(name), className="fw-semibold")]
    if hint:
        children.append(html.Div(hint, className="form-text mt-0 mb-1"))
    return children


def _text_input(
    name: str, label: str, placeholder: str = "", hint: str | None = None, **kwargs: Any
) -> html.Div:
    return html.Div(
        [
            *_label(label, name, hint),
            dbc.Input(id=field_id(name), placeholder=placeholder, **kwargs),
        ],
        className="mb-3",
    )


def _select(
    name: str,
    label: str,
    options: list[tuple[str, str]],
    value: str,
    hint: str | None = None,
) -> html.Div:
    return html.Div(
        [
            *_label(label, name, hint),
            dbc.Select(
                id=field_id(name),
                options=[{"label": text, "value": key} for key, text in options],
                value=value,
            ),
        ],
        className="mb-3",
    )


def _section(
    title: str, children: list, section_id: str | None = None, class_name: str = ""
) -> dbc.Card:
    kwargs = {"id": section_id} if section_id else {}
    return dbc.Card(
        [dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(children)],
        className=f"shadow-sm mb-4 {class_name}".strip(),
        **kwargs,
    )


def kind_section() -> dbc.Card:
    kinds = dbc.RadioItems(
        id=KIND_ID,
        options=[
            {"label": [icon("bi-filetype-json", "me-1"), "JSON file"], "value": "json"},
            {"label": [icon("bi-filetype-csv", "me-1"), "CSV file"], "value": "csv"},
            {
                "label": [icon("bi-cloud-arrow-down", "me-1"), "HTTP API"],
                "value": "api",
            },
        ],
        value="csv",
        className="btn-group flex-wrap",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-primary",
        labelCheckedClassName="active",
    )
    demo = dbc.Button(
        [icon("bi-broadcast", "me-1"), "Demo live feed"],
        id=DEMO_ID,
        color="success",
        outline=True,
        title="Fill the HTTP API form with this app's own demo sales feed",
    )
    return _section(
        "Task",
        [
            _text_input(
                "name",
                "Name",
                "e.g. Dealer exports, March",
                hint="Shown in the task list.",
                maxLength=200,
            ),
            dbc.Label("Source kind", className="fw-semibold d-block"),
            html.Div(
                [kinds, demo], className="d-flex flex-wrap gap-3 align-items-center"
            ),
        ],
    )


def file_section() -> dbc.Card:
    origin = dbc.RadioItems(
        id=ORIGIN_ID,
        options=[
            {"label": "Upload a file", "value": "upload"},
            {"label": "Stored file", "value": "stored"},
            {"label": "URL", "value": "url"},
        ],
        value="upload",
        inline=True,
        className="mb-3",
    )
    upload_pane = html.Div(
        [
            dcc.Upload(
                id=UPLOAD_ID,
                children=html.Div(
                    [
                        icon("bi-cloud-upload", "fs-3 d-block mb-1"),
                        "Drop a file here or ",
                        html.Span("choose one", className="link-primary"),
                    ]
                ),
                className="upload-zone",
                className_active="upload-zone upload-zone-active",
                multiple=False,
            ),
            html.Div(id=UPLOAD_STATUS_ID, className="mt-2"),
            html.Div(
                [
                    "The form sends the file through the browser, which suits files "
                    "of a few megabytes. For large files, send them to ",
                    html.Code("POST /api/v1/uploads"),
                    " (multipart field ",
                    html.Code("file"),
                    "); they then appear under Stored file.",
                ],
                className="form-text",
            ),
        ],
        id=UPLOAD_PANE_ID,
    )
    stored_pane = html.Div(
        [
            dcc.Dropdown(
                id=STORED_ID,
                placeholder="Choose a data file or an earlier upload",
                className="mb-1",
            ),
            html.Div(
                "Files in the server's data folders, and files you uploaded before.",
                className="form-text",
            ),
        ],
        id=STORED_PANE_ID,
        className=HIDDEN,
    )
    url_pane = html.Div(
        _text_input(
            "file_url",
            "File URL",
            "https://example.com/sales.json",
            hint="A JSON file on a web server. Private and local addresses are "
            "refused unless the server allows them.",
            type="url",
        ),
        id=URL_PANE_ID,
        className=HIDDEN,
    )
    return _section(
        "File",
        [origin, upload_pane, stored_pane, url_pane],
        section_id=FILE_SECTION_ID,
    )


def api_section() -> dbc.Card:
    pagination_style = _select(
        "pagination_style",
        "Pagination",
        [
            ("none", "None: one request"),
            ("page", "Page number"),
            ("offset", "Offset and limit"),
            ("cursor", "Cursor from the response"),
            ("next", "Next-page link in the response"),
        ],
        "none",
    )
    panes = {
        "page": [
            _pair("page_param", "Page parameter", "page", "start", "First page", 1),
            _pair(
                "size_param",
                "Page size parameter",
                "per_page",
                "size",
                "Page size",
                None,
            ),
        ],
        "offset": [
            _pair(
                "offset_param",
                "Offset parameter",
                "offset",
                "limit",
                "Records per request",
                100,
            ),
            _text_input("limit_param", "Limit parameter", "limit"),
        ],
        "cursor": [
            _text_input("cursor_param", "Cursor parameter", "cursor"),
            _text_input(
                "cursor_path",
                "Cursor path in the response",
                "next_cursor",
                hint="Dotted key path, e.g. meta.next_cursor.",
            ),
        ],
        "next": [
            _text_input(
                "next_path",
                "Next link path in the response",
                "next",
                hint="Dotted key path to the next page's URL, e.g. links.next.",
            ),
        ],
    }
    pagination_panes = [
        html.Div(children, id=f"{PREFIX}-pagination-{style}", className=HIDDEN)
        for style, children in panes.items()
    ]
    return _section(
        "HTTP API",
        [
            _text_input(
                "api_url", "URL", "https://api.example.com/v1/sales", type="url"
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _textarea(
                            "params", "Query parameters", "year=2023\nregion=north"
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        _textarea("headers", "Headers", "Authorization=Bearer …"), md=6
                    ),
                ]
            ),
            html.Div(
                "One name=value per line. Header values are stored for the worker "
                "and never shown again.",
                className="form-text mt-n2 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(pagination_style, md=6),
                    dbc.Col(
                        _number_input(
                            "max_pages",
                            "Maximum pages",
                            1000,
                            hint="The fetch stops after this many requests.",
                        ),
                        md=6,
                    ),
                ]
            ),
            *pagination_panes,
        ],
        section_id=API_SECTION_ID,
        class_name=HIDDEN,
    )


def _textarea(name: str, label: str, placeholder: str) -> html.Div:
    return html.Div(
        [
            *_label(label, name),
            dbc.Textarea(
                id=field_id(name),
                placeholder=placeholder,
                rows=3,
                className="font-monospace small",
            ),
        ],
        className="mb-3",
    )


def _number_input(
    name: str, label: str, placeholder: int | None, hint: str | None = None
) -> html.Div:
    return _text_input(
        name,
        label,
        "" if placeholder is None else str(placeholder),
        hint=hint,
        type="number",
        min=0,
        step=1,
    )


def _pair(
    text_name: str,
    text_label: str,
    text_placeholder: str,
    number_name: str,
    number_label: str,
    number_placeholder: int | None,
):
    return dbc.Row(
        [
            dbc.Col(_text_input(text_name, text_label, text_placeholder), md=6),
            dbc.Col(_number_input(number_name, number_label, number_placeholder), md=6),
        ]
    )


def format_section() -> dbc.Card:
    csv_options = html.Div(
        dbc.Row(
            [
                dbc.Col(
                    _select(
                        "delimiter",
                        "Delimiter",
                        [
                            ("auto", "Detect"),
                            (",", "Comma ,"),
                            (";", "Semicolon ;"),
                            ("tab", "Tab"),
                            ("|", "Pipe |"),
                        ],
                        "auto",
                    ),
                    md=4,
                ),
                dbc.Col(
                    _select(
                        "decimal",
                        "Decimal mark",
                        [
                            (".", "Dot: 1234.56"),
                            (",", "Comma: 1234,56"),
                        ],
                        ".",
                    ),
                    md=4,
                ),
                dbc.Col(
                    _select(
                        "thousands",
                        "Thousands separator",
                        [
                            ("auto", "Detect"),
                            (",", "Comma: 1,234"),
                            (".", "Dot: 1.234"),
                            (" ", "Space: 1 234"),
                            ("'", "Apostrophe: 1'234"),
                            ("none", "None"),
                        ],
                        "auto",
                    ),
                    md=4,
                ),
            ]
        ),
        id=CSV_SECTION_ID,
    )
    json_options = html.Div(
        dbc.Row(
            dbc.Col(
                _select(
                    "json_format",
                    "JSON format",
                    [
                        ("auto", "Detect"),
                        ("array", "One JSON document"),
                        ("ndjson", "Newline-delimited JSON (one record per line)"),
                    ],
                    "auto",
                ),
                md=6,
            ),
        ),
        id=JSON_SECTION_ID,
        className=HIDDEN,
    )
    records_path = html.Div(
        _text_input(
            "records_path",
            "Records path",
            "e.g. data.sales",
            hint="Dotted key path to the list of records when the JSON top level "
            "is an object. Leave empty for a top-level list.",
        ),
        id=RECORDS_PATH_ROW_ID,
        className=HIDDEN,
    )
    encoding = html.Div(
        dbc.Row(
            [
                dbc.Col(
                    _select(
                        "encoding",
                        "Encoding",
                        [
                            ("auto", "Detect"),
                            ("utf-8", "UTF-8"),
                            ("utf-8-sig", "UTF-8 with BOM"),
                            ("cp1252", "Windows-1252"),
                            ("latin-1", "Latin-1 (ISO 8859-1)"),
                            ("utf-16", "UTF-16"),
                        ],
                        "auto",
                    ),
                    md=6,
                ),
                dbc.Col(
                    _select(
                        "date_order",
                        "Date order",
                        [
                            ("auto", "Detect"),
                            ("mdy", "Month first: 1/31/2023"),
                            ("dmy", "Day first: 31/1/2023"),
                            ("ymd", "Year first: 2023/1/31"),
                        ],
                        "auto",
                        hint=None,
                    ),
                    md=6,
                ),
            ]
        ),
        id=ENCODING_ROW_ID,
    )
    currency = _text_input(
        "currency",
        "Currency",
        "e.g. USD",
        hint="Three-letter code for records that do not name their currency.",
        maxLength=3,
        style={"maxWidth": "10rem"},
    )
    return _section(
        "Reading options",
        [csv_options, json_options, records_path, encoding, currency],
    )


def mapping_and_filters() -> dbc.Accordion:
    mapping_inputs = dbc.Row(
        [
            dbc.Col(_text_input(f"map_{name}", label, placeholder), md=4)
            for name, label, placeholder in (
                ("company", "Company", "make"),
                ("car_model", "Car model", "model"),
                ("sale_date", "Sale date", "saledate"),
                ("price", "Price", "sellingprice"),
                ("id", "Record id", "vin"),
                ("currency", "Currency", "currency"),
            )
        ]
    )
    filters = [
        dbc.Label("Sold between", className="fw-semibold d-block"),
        dcc.DatePickerRange(
            id=f"{PREFIX}-dates",
            display_format="YYYY-MM-DD",
            clearable=True,
            start_date_placeholder_text="From",
            end_date_placeholder_text="Until",
            className="mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(
                    _text_input(
                        "companies",
                        "Companies",
                        "Toyota, Honda",
                        hint="Comma-separated. Empty keeps every company.",
                    ),
                    md=6,
                ),
                dbc.Col(
                    _text_input(
                        "models",
                        "Models",
                        "Corolla, Civic",
                        hint="Comma-separated. Empty keeps every model.",
                    ),
                    md=6,
                ),
            ]
        ),
    ]
    return dbc.Accordion(
        [
            dbc.AccordionItem(
                [
                    html.P(
                        "Common column names such as make, brand, Company, Date, "
                        "saledate, Price ($) and sellingprice are recognised. Give "
                        "the source's column name here only where it is not.",
                        className="text-body-secondary small",
                    ),
                    mapping_inputs,
                ],
                title="Column mapping (optional)",
            ),
            dbc.AccordionItem(
                [
                    html.P(
                        "Records outside these filters are counted as filtered and "
                        "not stored.",
                        className="text-body-secondary small",
                    ),
                    *filters,
                ],
                title="Sourcing filters (optional)",
            ),
        ],
        start_collapsed=True,
        always_open=True,
        className="mb-4 shadow-sm",
    )


def help_card() -> dbc.Card:
    steps = [
        "Pick where the records come from and how to read them.",
        "Create the task. It is checked at once, then queued.",
        "A worker reads the source in batches. Rows it cannot read are kept "
        "with the reason, and the fetch goes on.",
        "Loading the same records again adds nothing: they count as duplicates.",
    ]
    return dbc.Card(
        [
            dbc.CardHeader([icon("bi-lightbulb", "me-2"), "How a fetch works"]),
            dbc.CardBody(
                html.Ol(
                    [html.Li(step, className="mb-2") for step in steps],
                    className="ps-3 mb-0 small",
                )
            ),
        ],
        className="shadow-sm help-card",
    )
