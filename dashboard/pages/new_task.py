"""The new-task form: where the records come from, how to read them, which to keep.

Submitting calls ``tasks_service.create_task``, which validates the whole spec
before anything is stored or queued. A ``SpecError`` is shown as an alert that
names the field, and a valid task opens its detail page.
"""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask import current_app, request
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from dashboard import tasks_service
from dashboard.components import icon, page_header, sentence
from dashboard.pages import _new_task_sections as sections
from dashboard.pages import _task_form as form
from models import Upload, db
from sources.errors import SpecError

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/tasks/new", title="New task · Forecourt", order=2)

# Earlier uploads listed in the stored-file picker, newest first.
UPLOAD_LIST_LIMIT = 50


def _stored_options(kind: str) -> list[dict[str, str]]:
    """List stored data files of ``kind`` and the user's earlier uploads."""
    options = []
    for item in tasks_service.stored_files(current_app.config["DATA_DIRS"]):
        if item["kind"] != kind:
            continue
        options.append(
            {
                "label": f"{item['path']} ({_size_text(item['size'])})",
                "value": form.STORED_PATH + item["path"],
            }
        )
    uploads = db.session.execute(
        db.select(Upload)
        .where(Upload.owner_id == current_user.id)
        .order_by(Upload.created_at.desc())
        .limit(UPLOAD_LIST_LIMIT)
    ).scalars()
    for upload in uploads:
        options.append(
            {
                "label": f"Uploaded: {upload.filename} ({_size_text(upload.size)}, "
                f"{upload.created_at:%Y-%m-%d})",
                "value": form.STORED_UPLOAD + upload.id,
            }
        )
    return options


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def layout(**_query: str) -> html.Div:
    if not getattr(current_user, "can_write", False):
        return html.Div(
            [
                page_header("New fetch task"),
                dbc.Alert(
                    "Your account has the viewer role, which can look at tasks and "
                    "analytics but cannot create tasks. Ask an admin for the analyst "
                    "role.",
                    color="warning",
                ),
            ]
        )
    submit = dbc.Button(
        [icon("bi-play-fill", "me-1"), "Create task"],
        id=sections.SUBMIT_ID,
        color="primary",
        size="lg",
    )
    return html.Div(
        [
            page_header(
                "New fetch task",
                "Load car sales records from a file or an HTTP API.",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            sections.kind_section(),
                            sections.file_section(),
                            sections.api_section(),
                            sections.format_section(),
                            sections.mapping_and_filters(),
                            html.Div(id=sections.ALERT_ID),
                            html.Div(
                                [
                                    submit,
                                    dbc.Button("Cancel", href="/tasks", color="link"),
                                ],
                                className="d-flex gap-2 align-items-center",
                            ),
                        ],
                        lg=8,
                    ),
                    dbc.Col(sections.help_card(), lg=4, className="d-none d-lg-block"),
                ]
            ),
            dcc.Store(id=sections.UPLOAD_STORE_ID),
            dcc.Location(id=sections.REDIRECT_ID, refresh="callback-nav"),
        ]
    )


def _shown(visible: bool) -> str:
    return "" if visible else sections.HIDDEN


@dash.callback(
    Output(sections.FILE_SECTION_ID, "className"),
    Output(sections.API_SECTION_ID, "className"),
    Output(sections.CSV_SECTION_ID, "className"),
    Output(sections.JSON_SECTION_ID, "className"),
    Output(sections.RECORDS_PATH_ROW_ID, "className"),
    Output(sections.ENCODING_ROW_ID, "className"),
    Output(sections.UPLOAD_PANE_ID, "className"),
    Output(sections.STORED_PANE_ID, "className"),
    Output(sections.URL_PANE_ID, "className"),
    Output(sections.ORIGIN_ID, "options"),
    Output(sections.STORED_ID, "options"),
    Input(sections.KIND_ID, "value"),
    Input(sections.ORIGIN_ID, "value"),
)
def show_source_fields(kind: str | None, origin: str | None):
    """Show the form sections that apply to the chosen source kind and origin."""
    is_file = kind in form.FILE_KINDS
    card = "shadow-sm mb-4"
    origin_options = [
        {"label": "Upload a file", "value": "upload"},
        {"label": "Stored file", "value": "stored"},
        {"label": "URL", "value": "url", "disabled": kind != "json"},
    ]
    return (
        f"{card} {_shown(is_file)}",
        f"{card} {_shown(kind == 'api')}",
        _shown(kind == "csv"),
        _shown(kind == "json"),
        _shown(kind in ("json", "api")),
        _shown(is_file),
        _shown(origin == "upload"),
        _shown(origin == "stored"),
        _shown(origin == "url" and kind == "json"),
        origin_options,
        _stored_options(kind) if is_file else [],
    )


@dash.callback(
    *(
        Output(f"{sections.PREFIX}-pagination-{style}", "className")
        for style in sections.PAGINATION_PANES
    ),
    Input(sections.field_id("pagination_style"), "value"),
)
def show_pagination_fields(style: str | None):
    """Show the settings of the chosen pagination style only."""
    return tuple(_shown(style == pane) for pane in sections.PAGINATION_PANES)


@dash.callback(
    Output(sections.UPLOAD_STORE_ID, "data"),
    Output(sections.UPLOAD_STATUS_ID, "children"),
    Input(sections.UPLOAD_ID, "contents"),
    State(sections.UPLOAD_ID, "filename"),
    prevent_initial_call=True,
)
def store_upload(contents: str | None, filename: str | None):
    """Save the file that ``dcc.Upload`` sent (a base64 data URL) as an upload."""
    if not contents:
        raise dash.exceptions.PreventUpdate
    try:
        _, encoded = contents.split(",", 1)
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        log.info("upload %r from user %s is not base64 data", filename, current_user.id)
        message = f"The file {filename!r} could not be read. Choose it again."
        return None, dbc.Alert(message, color="danger", className="py-2 mb-0")

    try:
        upload = _save_bytes(data, filename or "upload")
    except (SpecError, PermissionError) as exc:
        log.info("upload %r from user %s rejected: %s", filename, current_user.id, exc)
        text = (
            form.error_text(exc) if isinstance(exc, SpecError) else sentence(str(exc))
        )
        return None, dbc.Alert(text, color="danger", className="py-2 mb-0")
    status = html.Div(
        [
            icon("bi-check-circle-fill", "text-success me-2"),
            html.Span(upload.filename, className="fw-semibold"),
            html.Span(
                f" uploaded ({_size_text(upload.size)})",
                className="text-body-secondary",
            ),
        ]
    )
    return {"id": upload.id, "filename": upload.filename}, status


def _save_bytes(data: bytes, filename: str) -> Upload:
    with tempfile.TemporaryFile() as buffer:
        buffer.write(data)
        buffer.seek(0)
        return tasks_service.save_upload(
            current_user, FileStorage(stream=buffer, filename=filename)
        )


@dash.callback(
    Output(sections.KIND_ID, "value"),
    Output(sections.NAME_ID, "value"),
    *(
        Output(sections.field_id(name), "value")
        for name in (
            "api_url",
            "params",
            "headers",
            "records_path",
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
        )
    ),
    Input(sections.DEMO_ID, "n_clicks"),
    State(sections.NAME_ID, "value"),
    prevent_initial_call=True,
)
def fill_demo_feed(clicks: int | None, name: str | None):
    """Fill the HTTP API form with the demo feed, which carries a new API token."""
    if not clicks:
        raise dash.exceptions.PreventUpdate
    source = tasks_service.demo_feed_source(current_user, request.host_url)
    values = form.form_values(source)
    return (
        values["kind"],
        name or "Demo live feed",
        values["api_url"],
        values["params"],
        values["headers"],
        values["records_path"],
        values["pagination_style"],
        values["page_param"],
        values["start"],
        values["size_param"],
        values["size"],
        values["offset_param"],
        values["limit_param"],
        values["limit"],
        values["cursor_param"],
        values["cursor_path"],
        values["next_path"],
        values["max_pages"],
    )


@dash.callback(
    Output(sections.ALERT_ID, "children"),
    Output(sections.REDIRECT_ID, "href"),
    Input(sections.SUBMIT_ID, "n_clicks"),
    State(sections.UPLOAD_STORE_ID, "data"),
    State(f"{sections.PREFIX}-dates", "start_date"),
    State(f"{sections.PREFIX}-dates", "end_date"),
    *(State(sections.field_id(name), "value") for name in form.FIELDS),
    running=[(Output(sections.SUBMIT_ID, "disabled"), True, False)],
    prevent_initial_call=True,
)
def create_task(
    clicks: int | None,
    upload: dict | None,
    date_from: str | None,
    date_to: str | None,
    *field_values: Any,
):
    """Validate the form and create the task, or show what to fix."""
    if not clicks:
        raise dash.exceptions.PreventUpdate
    values = dict(zip(form.FIELDS, field_values, strict=True))
    values["upload_id"] = (upload or {}).get("id")
    values["date_from"] = date_from
    values["date_to"] = date_to

    try:
        source = form.build_source(values)
        filters = form.build_filters(values)
        task = tasks_service.create_task(
            current_user, values.get("name") or "", source, filters
        )
    except SpecError as exc:
        log.info("task form from user %s rejected: %s", current_user.id, exc)
        return _error_alert(form.error_text(exc), exc.field), dash.no_update
    except PermissionError as exc:
        log.info("task form from user %s rejected: %s", current_user.id, exc)
        return _error_alert(sentence(str(exc)), None), dash.no_update
    log.info("created fetch task %s from the form", task.id)
    return None, f"/tasks/{task.id}"


def _error_alert(text: str, field: str | None) -> dbc.Alert:
    children: list = [
        html.Div(
            [
                icon("bi-exclamation-octagon-fill", "me-2"),
                html.Strong("Check the form. "),
                text,
            ]
        )
    ]
    if field:
        children.append(html.Div(["Field: ", html.Code(field)], className="small mt-1"))
    return dbc.Alert(children, color="danger", className="mb-3")
