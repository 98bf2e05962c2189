"""The task list: every fetch task the user may see, refreshed while any runs."""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, ctx, dcc, html
from flask_login import current_user

from dashboard import tasks_service
from dashboard.components import (
    empty_state,
    format_count,
    format_duration,
    format_time,
    icon,
    page_header,
    progress_bar,
    retry_feedback,
    source_display_names,
    source_kind_label,
    status_badge,
)
from models import FetchTask

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/tasks", title="Tasks · Forecourt", order=0)

TABLE_ID = "tasks-table"
INTERVAL_ID = "tasks-interval"
FEEDBACK_ID = "tasks-feedback"
RETRY_TYPE = "tasks-retry"
# How often the list refreshes while a task is pending or in progress.
REFRESH_MS = 1500
RETRYABLE = ("failed", "completed")


def _counter_details(task: FetchTask) -> list[str]:
    parts = []
    for value, label in (
        (task.rows_duplicate, "duplicate"),
        (task.rows_filtered, "filtered"),
        (task.rows_rejected, "rejected"),
    ):
        if value:
            parts.append(f"{format_count(value)} {label}")
    return parts


def _rows_cell(task: FetchTask, details: list[str]) -> html.Td:
    return html.Td(
        [
            html.Div(
                [
                    html.Span(format_count(task.rows_loaded), className="fw-semibold"),
                    html.Span(
                        f" loaded of {format_count(task.rows_read)}",
                        className="text-body-secondary",
                    ),
                ]
            ),
            html.Div(" · ".join(details), className="small text-body-secondary")
            if details
            else None,
        ]
    )


def _task_row(task: FetchTask, source_name: str, show_owner: bool) -> html.Tr:
    name_cell = html.Td(
        [
            dcc.Link(
                task.name,
                href=f"/tasks/{task.id}",
                className="fw-semibold text-decoration-none",
            ),
            html.Div(
                [source_kind_label(task.source_kind), " · ", source_name],
                className="small text-body-secondary text-truncate source-cell",
                title=source_name,
            ),
        ]
    )
    status_cell = html.Td(
        [
            html.Div(
                [
                    status_badge(task.status),
                    icon("bi-exclamation-triangle-fill", "text-warning ms-2")
                    if task.warning
                    else None,
                ]
            ),
            progress_bar(task.progress, task.status),
        ]
    )
    details = _counter_details(task)
    if task.status == "pending" and not task.rows_read:
        rows_cell = html.Td("Waiting for a worker", className="text-body-secondary")
    else:
        rows_cell = _rows_cell(task, details)
    finished = format_time(task.finished_at)
    if task.finished_at and task.started_at:
        finished_detail = format_duration(task.started_at, task.finished_at)
    else:
        finished_detail = None
    cells = [
        name_cell,
        status_cell,
        rows_cell,
        html.Td(format_time(task.created_at), className="text-nowrap small"),
        html.Td(
            [
                html.Div(finished),
                html.Div(finished_detail, className="text-body-secondary")
                if finished_detail
                else None,
            ],
            className="text-nowrap small",
        ),
    ]
    if show_owner:
        owner = task.owner.username if task.owner else "—"
        cells.append(html.Td(owner, className="small"))
    cells.append(html.Td(_retry_button(task), className="text-end"))
    return html.Tr(cells)


def _retry_button(task: FetchTask) -> dbc.Button | None:
    if task.status not in RETRYABLE or not getattr(current_user, "can_write", False):
        return None
    return dbc.Button(
        [icon("bi-arrow-clockwise", "me-1"), "Retry"],
        id={"type": RETRY_TYPE, "index": task.id},
        color="secondary",
        outline=True,
        size="sm",
    )


def task_table(tasks: list[FetchTask], show_owner: bool) -> html.Div:
    """Build the task table, or an empty state when there are no tasks."""
    if not tasks:
        return empty_state(
            "bi-inboxes",
            "No fetch tasks yet",
            "Create a task to load sales records from a CSV or JSON file or from "
            "an HTTP API. Its progress and results show up here.",
            dbc.Button(
                [icon("bi-plus-lg", "me-1"), "Create your first task"],
                href="/tasks/new",
                color="primary",
            ),
        )

    names = source_display_names(tasks)
    headers = ["Task", "Status", "Rows", "Created", "Finished"]
    if show_owner:
        headers.append("Owner")
    headers.append("")
    return dbc.Card(
        dbc.Table(
            [
                html.Thead(html.Tr([html.Th(label) for label in headers])),
                html.Tbody(
                    [_task_row(task, names[task.id], show_owner) for task in tasks]
                ),
            ],
            hover=True,
            responsive=True,
            className="mb-0 align-middle task-table",
        ),
        className="shadow-sm",
    )


def _list_state() -> tuple[html.Div, bool]:
    """Return the table and whether the refresh interval should be disabled."""
    tasks = tasks_service.visible_tasks(current_user)
    any_active = any(task.is_active for task in tasks)
    return task_table(tasks, show_owner=current_user.is_admin), not any_active


def layout(**_query: str) -> html.Div:
    table, interval_disabled = _list_state()
    actions = []
    if getattr(current_user, "can_write", False):
        actions.append(
            dbc.Button(
                [icon("bi-plus-lg", "me-1"), "New task"],
                href="/tasks/new",
                color="primary",
            )
        )
    subtitle = (
        "All users' fetch tasks, newest first."
        if current_user.is_admin
        else "Your fetch tasks, newest first."
    )
    return html.Div(
        [
            page_header("Fetch tasks", subtitle, actions),
            html.Div(id=FEEDBACK_ID),
            html.Div(table, id=TABLE_ID),
            dcc.Interval(
                id=INTERVAL_ID, interval=REFRESH_MS, disabled=interval_disabled
            ),
        ]
    )


# The site root shows the same task list.
dash.register_page(
    "tasks_home", path="/", title="Tasks · Forecourt", layout=layout, order=1
)


def _retry(task_id: int) -> dbc.Alert:
    task = tasks_service.get_task(current_user, task_id)
    if task is None:
        return dbc.Alert(
            f"Task {task_id} was not found. It may have been deleted.",
            color="warning",
            dismissable=True,
        )
    return retry_feedback(current_user, task)


@dash.callback(
    Output(TABLE_ID, "children"),
    Output(INTERVAL_ID, "disabled"),
    Output(FEEDBACK_ID, "children"),
    Input(INTERVAL_ID, "n_intervals"),
    Input({"type": RETRY_TYPE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def refresh_task_list(_intervals: int | None, _clicks: list[int | None]):
    """Rebuild the task table on each tick or after a Retry click.

    The interval is disabled once no task is pending or in progress, so an idle
    list sends no requests.
    """
    feedback = dash.no_update
    triggered = ctx.triggered_id
    if isinstance(triggered, dict) and triggered.get("type") == RETRY_TYPE:
        # New Retry buttons also fire this callback, with no clicks.
        if not ctx.triggered[0]["value"]:
            raise dash.exceptions.PreventUpdate
        feedback = _retry(int(triggered["index"]))

    table, interval_disabled = _list_state()
    return table, interval_disabled, feedback
