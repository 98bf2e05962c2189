"""Layout pieces that several Dash pages share: navbar, badges, formatting."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard import tasks_service
from models import FetchTask, Upload, db
from sources.http import masked_url

log = logging.getLogger(__name__)

NAVBAR_ID = "navbar"
# (component id, label, path) of each navbar link.
NAV_LINKS = (
    ("nav-tasks", "Tasks", "/tasks"),
    ("nav-new-task", "New task", "/tasks/new"),
    ("nav-analytics", "Analytics", "/analytics"),
)

STATUS_LABELS = {
    "pending": "Pending",
    "in_progress": "In progress",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STATUS_COLORS = {
    "pending": "secondary",
    "in_progress": "primary",
    "completed": "success",
    "failed": "danger",
    "cancelled": "dark",
}
STATUS_ICONS = {
    "pending": "bi-hourglass",
    "in_progress": "bi-arrow-repeat",
    "completed": "bi-check-circle",
    "failed": "bi-x-circle",
    "cancelled": "bi-slash-circle",
}
SOURCE_KIND_LABELS = {"json": "JSON file", "csv": "CSV file", "api": "HTTP API"}
SOURCE_KIND_ICONS = {
    "json": "bi-filetype-json",
    "csv": "bi-filetype-csv",
    "api": "bi-cloud-arrow-down",
}


def icon(name: str, extra: str = "") -> html.I:
    """Return a Bootstrap Icons glyph, hidden from screen readers."""
    return html.I(className=f"bi {name} {extra}".strip(), **{"aria-hidden": "true"})


def navbar(user: Any) -> dbc.Navbar:
    """Build the top bar: brand, page links, the signed-in user and Sign out."""
    links = [
        dbc.NavItem(dbc.NavLink(label, href=href, id=link_id))
        for link_id, label, href in NAV_LINKS
    ]
    username = getattr(user, "username", None)
    account = []
    if username:
        role = getattr(user, "role", "")
        account = [
            html.Span(
                [icon("bi-person-circle", "me-2"), username],
                className="navbar-text text-light me-2",
            ),
            html.Span(role, className="badge text-bg-secondary me-3")
            if role and role != "analyst"
            else None,
            html.A(
                [icon("bi-box-arrow-right", "me-1"), "Sign out"],
                href="/logout",
                className="btn btn-outline-light btn-sm",
            ),
        ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [icon("bi-fuel-pump-fill", "me-2 brand-icon"), "Forecourt"],
                    href="/tasks",
                    className="fw-semibold",
                ),
                dbc.NavbarToggler(id="navbar-toggler"),
                dbc.Collapse(
                    [
                        dbc.Nav(links, navbar=True, className="me-auto"),
                        html.Div(account, className="d-flex align-items-center"),
                    ],
                    id="navbar-collapse",
                    navbar=True,
                ),
            ],
            fluid=True,
            className="app-container",
        ),
        id=NAVBAR_ID,
        color="dark",
        dark=True,
        expand="md",
        className="mb-4 shadow-sm",
    )


def page_header(
    title: str, subtitle: str | None = None, actions: list | None = None
) -> html.Div:
    """Build a page title row with an optional subtitle and right-aligned buttons."""
    heading = [html.H1(title, className="h3 mb-1")]
    if subtitle:
        heading.append(html.P(subtitle, className="text-body-secondary mb-0"))
    return html.Div(
        [html.Div(heading), html.Div(actions or [], className="d-flex gap-2")],
        className="d-flex flex-wrap justify-content-between align-items-end gap-3 mb-4",
    )


def status_badge(status: str) -> dbc.Badge:
    """Return a coloured badge for a task status."""
    return dbc.Badge(
        [
            icon(STATUS_ICONS.get(status, "bi-question-circle"), "me-1"),
            STATUS_LABELS.get(status, status),
        ],
        color=STATUS_COLORS.get(status, "secondary"),
        className="status-badge",
    )


def progress_bar(progress: float | None, status: str) -> html.Div | None:
    """Return a progress bar for an in-progress task, or None for other statuses.

    When the source size is unknown the bar is full, striped and unlabelled.
    """
    if status != "in_progress":
        return None
    if progress is None:
        return html.Div(
            dbc.Progress(
                value=100, striped=True, animated=True, className="task-progress"
            ),
            className="task-progress-row",
        )
    percent = round(progress * 100)
    return html.Div(
        [
            dbc.Progress(
                value=percent, striped=True, animated=True, className="task-progress"
            ),
            html.Small(f"{percent}%", className="text-body-secondary"),
        ],
        className="task-progress-row",
    )


def empty_state(
    icon_name: str, title: str, text: str, action: Any | None = None
) -> html.Div:
    """Build a centred placeholder for a list or chart with nothing to show."""
    return html.Div(
        [
            icon(icon_name, "empty-state-icon"),
            html.H2(title, className="h5 mt-3"),
            html.P(text, className="text-body-secondary mb-3"),
            action,
        ],
        className="empty-state text-center",
    )


def format_time(value: datetime | None, seconds: bool = False) -> str:
    """Format a naive UTC timestamp as "3 May 2024, 14:02 UTC", or an em dash."""
    if value is None:
        return "—"
    clock = f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"
    return f"{value.day} {value:%b %Y}, {clock} UTC"


def format_duration(start: datetime | None, end: datetime | None) -> str:
    """Format the time between two timestamps as "1 h 02 min", "3 min 05 s",
    "12 s" or "under 1 s", or an em dash when either is missing."""
    if start is None or end is None:
        return "—"
    elapsed = (end - start).total_seconds()
    if 0 <= elapsed < 1:
        return "under 1 s"
    seconds = max(0, int(elapsed))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def format_count(value: int | None) -> str:
    return f"{value or 0:,}"


def source_kind_label(kind: str) -> html.Span:
    """Return the source kind as an icon and a short label."""
    return html.Span(
        [
            icon(SOURCE_KIND_ICONS.get(kind, "bi-file-earmark"), "me-1"),
            SOURCE_KIND_LABELS.get(kind, kind),
        ],
        className="text-nowrap",
    )


def not_found(message: str) -> html.Div:
    """Build the page body for a missing page or a record the user cannot see."""
    return empty_state(
        "bi-question-octagon",
        "Not found",
        message,
        dbc.Button("Back to tasks", href="/tasks", color="primary"),
    )


def source_display_names(tasks: Iterable[FetchTask]) -> dict[int, str]:
    """Map each task id to a short source name: the URL, the stored file's name or
    the uploaded file's original name. Uploads are looked up in one query."""
    tasks = list(tasks)
    upload_ids = {
        task.source_spec.get("upload_id")
        for task in tasks
        if task.source_spec.get("upload_id")
    }
    filenames: dict[str, str] = {}
    if upload_ids:
        rows = db.session.execute(
            db.select(Upload.id, Upload.filename).where(Upload.id.in_(upload_ids))
        ).all()
        filenames = {upload_id: filename for upload_id, filename in rows}

    names = {}
    for task in tasks:
        spec = task.source_spec or {}
        if spec.get("url"):
            names[task.id] = masked_url(spec["url"])
        elif spec.get("path"):
            names[task.id] = Path(spec["path"]).name
        elif spec.get("upload_id"):
            upload_id = spec["upload_id"]
            names[task.id] = filenames.get(upload_id, f"upload {upload_id}")
        else:
            names[task.id] = "—"
    return names


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop, for alert text."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def retry_feedback(user: Any, task: FetchTask) -> dbc.Alert:
    """Queue ``task`` again for ``user`` and return an alert saying how it went."""
    try:
        tasks_service.retry_task(user, task)
    except tasks_service.TaskStateError as exc:
        log.info("retry of task %s by user %s rejected: %s", task.id, user.id, exc)
        return dbc.Alert(sentence(str(exc)), color="warning", dismissable=True)
    except PermissionError as exc:
        log.info("retry of task %s by user %s rejected: %s", task.id, user.id, exc)
        return dbc.Alert(sentence(str(exc)), color="danger", dismissable=True)
    return dbc.Alert(
        f"Task “{task.name}” is queued again.",
        color="success",
        dismissable=True,
        duration=4000,
    )
