"""One fetch task: status, counters, timeline, error, source and rejected rows."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from flask_login import current_user

from dashboard import tasks_service
from dashboard.components import (
    format_count,
    format_duration,
    format_time,
    icon,
    not_found,
    page_header,
    progress_bar,
    retry_feedback,
    source_display_names,
    source_kind_label,
    status_badge,
)
from models import FetchTask
from models.base import utcnow

log = logging.getLogger(__name__)

BODY_ID = "task-body"
TASK_ID_STORE = "task-id"
INTERVAL_ID = "task-interval"
RETRY_ID = "task-retry"
FEEDBACK_ID = "task-feedback"
REFRESH_MS = 1500
REJECTED_LIMIT = 50
RETRYABLE = ("failed", "completed")
DELIMITER_NAMES = {
    None: "Detected",
    ",": "Comma (,)",
    ";": "Semicolon (;)",
    "\t": "Tab",
    "|": "Pipe (|)",
}
DECIMAL_NAMES = {".": "Dot (1234.56)", ",": "Comma (1234,56)"}
DATE_ORDER_NAMES = {
    "auto": "Detected",
    "mdy": "Month first (M/D/Y)",
    "dmy": "Day first (D/M/Y)",
    "ymd": "Year first (Y/M/D)",
}
PAGINATION_FIELDS = {
    "page": ("page_param", "start", "size_param", "size"),
    "offset": ("offset_param", "limit_param", "limit"),
    "cursor": ("cursor_param", "cursor_path"),
    "next": ("next_path",),
}


def _title(task_id: str | None = None, **_: Any) -> str:
    return f"Task {task_id} · Forecourt" if task_id else "Task · Forecourt"


dash.register_page(__name__, path_template="/tasks/<task_id>", title=_title, order=3)


def _parse_id(task_id: str | None) -> int | None:
    try:
        return int(task_id) if task_id is not None else None
    except ValueError:
        return None


def _counter(label: str, value: int, hint: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                html.Div(
                    [
                        html.Div(label, className="text-body-secondary small"),
                        html.Div(format_count(value), className="fs-4 fw-semibold"),
                    ],
                    title=hint,
                )
            ),
            className="h-100 shadow-sm",
        ),
        xs=6,
        md=True,
    )


def _counters(task: FetchTask) -> dbc.Row:
    return dbc.Row(
        [
            _counter("Read", task.rows_read, "Records read from the source"),
            _counter("Loaded", task.rows_loaded, "New sales stored"),
            _counter("Duplicate", task.rows_duplicate, "Records already stored before"),
            _counter("Filtered", task.rows_filtered, "Outside the sourcing filters"),
            _counter("Rejected", task.rows_rejected, "Records that could not be read"),
        ],
        className="g-3 mb-4",
    )


def _timeline(task: FetchTask) -> dbc.Card:
    end = task.finished_at or (utcnow() if task.status == "in_progress" else None)
    duration = format_duration(task.started_at, end)
    if task.status == "in_progress" and task.started_at:
        duration += " so far"
    rows = [
        ("Created", format_time(task.created_at, seconds=True)),
        ("Started", format_time(task.started_at, seconds=True)),
        ("Finished", format_time(task.finished_at, seconds=True)),
        ("Duration", duration),
    ]
    if task.owner is not None and current_user.is_admin:
        rows.insert(0, ("Owner", task.owner.username))
    return dbc.Card(
        [
            dbc.CardHeader("Timeline"),
            dbc.CardBody(_definition_list(rows)),
        ],
        className="h-100 shadow-sm",
    )


def _definition_list(rows: list[tuple[str, Any]]) -> html.Dl:
    items = []
    for label, value in rows:
        items.append(html.Dt(label, className="col-sm-4 text-body-secondary fw-normal"))
        items.append(html.Dd(value, className="col-sm-8 mb-2 text-break"))
    return html.Dl(items, className="row mb-0")


def _source_rows(task: FetchTask, source_name: str) -> list[tuple[str, Any]]:
    """Describe the public spec. Header values are never shown, only names."""
    spec = tasks_service.task_dict(task)["source"]
    rows: list[tuple[str, Any]] = [
        ("Kind", source_kind_label(task.source_kind)),
        ("Source", source_name),
    ]
    if spec.get("records_path"):
        rows.append(("Records path", html.Code(spec["records_path"])))
    rows.extend(_format_rows(task.source_kind, spec))
    rows.extend(_request_rows(spec))

    if spec.get("mapping"):
        mapping = ", ".join(
            f"{column} → {field}" for field, column in spec["mapping"].items()
        )
        rows.append(("Column mapping", mapping))
    filters = _filters_text(task.filters or {})
    if filters:
        rows.append(("Sourcing filters", filters))
    return rows


def _format_rows(kind: str, spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """Describe how a file is read: delimiter and decimal mark, encoding, dates."""
    rows: list[tuple[str, Any]] = []
    if kind == "csv":
        delimiter = spec.get("delimiter")
        rows.append(("Delimiter", DELIMITER_NAMES.get(delimiter, repr(delimiter))))
        decimal = spec.get("decimal") or "."
        rows.append(("Decimal mark", DECIMAL_NAMES.get(decimal, decimal)))
    if kind != "api":
        encoding = spec.get("encoding") or "auto"
        rows.append(("Encoding", "Detected" if encoding == "auto" else encoding))
        order = spec.get("date_order") or "auto"
        rows.append(("Date order", DATE_ORDER_NAMES.get(order, order)))
    return rows


def _request_rows(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """Describe an API request: query parameters, header names and pagination."""
    rows: list[tuple[str, Any]] = []
    if spec.get("params"):
        params = "&".join(f"{key}={value}" for key, value in spec["params"].items())
        rows.append(("Query parameters", html.Code(params)))
    if spec.get("headers"):
        names = ", ".join(sorted(spec["headers"]))
        rows.append(("Headers", f"{names} (values hidden)"))

    pagination = spec.get("pagination") or {}
    style = pagination.get("style", "none")
    if style != "none":
        settings = ", ".join(
            f"{name}={pagination[name]}"
            for name in PAGINATION_FIELDS.get(style, ())
            if pagination.get(name) is not None
        )
        rows.append(("Pagination", f"{style} ({settings})" if settings else style))
    return rows


def _filters_text(filters: dict[str, Any]) -> str:
    parts = []
    if filters.get("date_from") or filters.get("date_to"):
        start = filters.get("date_from") or "any date"
        end = filters.get("date_to") or "any date"
        parts.append(f"sold {start} to {end}")
    if filters.get("companies"):
        parts.append("companies " + ", ".join(filters["companies"]))
    if filters.get("models"):
        parts.append("models " + ", ".join(filters["models"]))
    return "; ".join(parts)


def _source_card(task: FetchTask) -> dbc.Card:
    source_name = source_display_names([task])[task.id]
    return dbc.Card(
        [
            dbc.CardHeader("Source"),
            dbc.CardBody(_definition_list(_source_rows(task, source_name))),
        ],
        className="h-100 shadow-sm",
    )


def _rejected_card(task: FetchTask) -> dbc.Card | None:
    if not task.rows_rejected:
        return None
    rows = tasks_service.rejected_sample(task, limit=REJECTED_LIMIT)
    shown = len(rows)
    note = (
        f"The first {shown} of {format_count(task.rows_rejected)} rejected records."
        if task.rows_rejected > shown
        else f"All {format_count(task.rows_rejected)} rejected records."
    )
    body = dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Line"), html.Th("Reason"), html.Th("Raw")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(row.line_no if row.line_no is not None else "—"),
                            html.Td(row.reason),
                            html.Td(html.Code(row.raw, className="raw-record")),
                        ]
                    )
                    for row in rows
                ]
            ),
        ],
        size="sm",
        responsive=True,
        className="mb-0 align-top rejected-table",
    )
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span("Rejected records"),
                    html.Small(note, className="ms-2 text-body-secondary"),
                ]
            ),
            body,
        ],
        className="shadow-sm mb-4",
    )


def _messages(task: FetchTask) -> list[dbc.Alert]:
    alerts = []
    if task.error:
        alerts.append(
            dbc.Alert(
                [
                    html.H2("The fetch failed", className="h6 alert-heading"),
                    html.P(task.error, className="mb-0 text-break"),
                ],
                color="danger",
            )
        )
    if task.warning:
        alerts.append(
            dbc.Alert(
                [icon("bi-exclamation-triangle-fill", "me-2"), task.warning],
                color="warning",
            )
        )
    return alerts


def task_body(task: FetchTask) -> html.Div:
    """Build everything below the page header for ``task``."""
    status_line = [status_badge(task.status)]
    if task.status == "pending":
        status_line.append(
            html.Span(
                "Queued. A worker starts it as soon as one is free.",
                className="ms-2 small text-body-secondary",
            )
        )
    if task.status == "in_progress" and task.progress is not None:
        status_line.append(
            html.Span(
                f"{round(task.progress * 100)}% of the source read",
                className="ms-2 small text-body-secondary",
            )
        )
    return html.Div(
        [
            html.Div(status_line, className="mb-2"),
            html.Div(progress_bar(task.progress, task.status), className="mb-3"),
            *_messages(task),
            _counters(task),
            dbc.Row(
                [
                    dbc.Col(_timeline(task), lg=5),
                    dbc.Col(_source_card(task), lg=7),
                ],
                className="g-3 mb-4",
            ),
            _rejected_card(task),
        ]
    )


def _retry_class(task: FetchTask) -> str:
    """Hide Retry unless the task has finished and the user may run tasks.

    The button stays in the layout either way, because Dash does not run a
    callback whose input is missing, and the refresh callback listens to it.
    """
    can_retry = task.status in RETRYABLE and getattr(current_user, "can_write", False)
    return "" if can_retry else "d-none"


def _actions(task: FetchTask) -> list:
    return [
        dbc.Button(
            [icon("bi-arrow-clockwise", "me-1"), "Retry"],
            id=RETRY_ID,
            color="primary",
            outline=True,
            className=_retry_class(task),
        ),
        dbc.Button(
            [icon("bi-bar-chart-line", "me-1"), "Analytics"],
            href="/analytics",
            color="secondary",
            outline=True,
        ),
    ]


def layout(task_id: str | None = None, **_query: str) -> html.Div:
    number = _parse_id(task_id)
    task = tasks_service.get_task(current_user, number) if number else None
    if task is None:
        return not_found(
            f"There is no task {task_id!s} that you can see. It may belong to "
            "another user or have been deleted."
        )
    return html.Div(
        [
            dcc.Link(
                [icon("bi-arrow-left", "me-1"), "All tasks"],
                href="/tasks",
                className="small d-inline-block mb-2",
            ),
            page_header(task.name, f"Task {task.id}", _actions(task)),
            html.Div(id=FEEDBACK_ID),
            html.Div(task_body(task), id=BODY_ID),
            dcc.Store(id=TASK_ID_STORE, data=task.id),
            dcc.Interval(
                id=INTERVAL_ID, interval=REFRESH_MS, disabled=not task.is_active
            ),
        ]
    )


@dash.callback(
    Output(BODY_ID, "children"),
    Output(INTERVAL_ID, "disabled"),
    Output(FEEDBACK_ID, "children"),
    Output(RETRY_ID, "className"),
    Input(INTERVAL_ID, "n_intervals"),
    Input(RETRY_ID, "n_clicks"),
    State(TASK_ID_STORE, "data"),
    prevent_initial_call=True,
)
def refresh_task(_intervals: int | None, clicks: int | None, task_id: int):
    """Rebuild the task body on each tick or after Retry; stop polling when the
    task is no longer pending or in progress."""
    task = tasks_service.get_task(current_user, int(task_id))
    if task is None:
        body = not_found(f"Task {task_id} is no longer available.")
        return body, True, dash.no_update, "d-none"

    feedback = dash.no_update
    if ctx.triggered_id == RETRY_ID and clicks:
        feedback = retry_feedback(current_user, task)
    return task_body(task), not task.is_active, feedback, _retry_class(task)
