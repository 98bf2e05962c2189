"""The REST API under /api/v1: tokens, uploads, fetch tasks, sales and the demo feed.

Requests authenticate with the session cookie or ``Authorization: Bearer
<token>``. A POST that relies on the session cookie must also send the CSRF token
in the ``X-CSRFToken`` header (``GET /api/v1/me`` returns one). Every error is
JSON: ``{"error": "<sentence>", "field": "<parameter or null>"}``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms.validators import ValidationError

from dashboard import analytics, demo_feed, tasks_service
from dashboard.auth import authenticate, login_rate_limit
from dashboard.extensions import limiter
from dashboard.security import load_user_from_token
from models import ApiToken, FetchTask, db
from sources.errors import SpecError
from sources.spec import json_kind

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIST_LIMIT = 1000
DEFAULT_SALES_PER_PAGE = 100
DEFAULT_FEED_PER_PAGE = 100
YEAR_RANGE = (1900, 2200)
FIELD_LENGTH_LIMIT = 120
# Each filter takes at most this many values, which keeps SQL IN lists short.
MAX_FILTER_VALUES = 50
SALES_FILTERS = ("year", "month", "company", "model", "source")
SOURCE_KINDS = ("json", "csv", "api")
TASK_FIELDS = ("name", "source", "filters")
EXPORT_FLUSH_BYTES = 64 * 1024
# Control characters, DEL, C1 controls and lone surrogates, which a task name may
# not contain: they break logs and pages, and no database can store a surrogate.
_NAME_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class ApiError(Exception):
    """An error to return as JSON with an HTTP status and the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_response(status: int, message: str, field: str | None = None) -> Response:
    log.info(
        "%s %s returned %d (field %s): %s",
        request.method,
        request.path,
        status,
        field,
        message,
    )
    response = jsonify(error=message, field=field)
    response.status_code = status
    return response


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, error.field)


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 413:
        limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 2**20
        message = (
            f"The request body is larger than the limit of {limit_mb} MB. Send a "
            "smaller file, or raise FORECOURT_MAX_UPLOAD_MB on the server."
        )
        return error_response(413, message, "file")
    if status == 429:
        message = (
            f"Too many attempts from this address (the limit is {error.description})."
            " Wait, then try again."
        )
        return error_response(429, message)
    return error_response(status, error.description or error.name)


def spec_error(error: SpecError) -> ApiError:
    message = error.message.rstrip(".")
    return ApiError(400, f"Invalid {error.field}: {message}.", error.field)


def viewer_error() -> ApiError:
    return ApiError(
        403,
        f"The user {current_user.username!r} has the viewer role, which cannot "
        "upload files or run tasks. Ask an admin for the analyst role.",
    )


@bp.before_request
def check_csrf_header() -> None:
    """Require ``X-CSRFToken`` on writes that rely on the session cookie.

    Bearer-token requests skip the check because another site cannot make a
    browser attach an Authorization header.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.endpoint == "api.create_token":
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if load_user_from_token(request) is not None:
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as exc:
        raise ApiError(
            400,
            f"The CSRF token is missing or invalid ({exc}). Send the token from "
            "GET /api/v1/me in the X-CSRFToken header, or use a Bearer token.",
            "X-CSRFToken",
        ) from None


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "The request body must be a JSON object sent with "
            "Content-Type: application/json.",
            "body",
        )
    return body


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """Read one whole-number query parameter within ``minimum``..``maximum``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse_int(name, raw, minimum, maximum)


def parse_int(name: str, raw: str, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(
            400, f"The parameter {name}={raw!r} is not a whole number.", name
        ) from None
    if not minimum <= value <= maximum:
        raise ApiError(
            400,
            f"The parameter {name}={value} is out of range. Use {minimum} to "
            f"{maximum}.",
            name,
        )
    return value


def check_known_args(allowed: tuple[str, ...]) -> None:
    for name in request.args:
        if name not in allowed:
            raise ApiError(
                400,
                f"The parameter {name!r} is unknown here. Use {', '.join(allowed)}.",
                name,
            )


def repeated_args(name: str) -> list[str]:
    """Return the values of a repeatable parameter, at most ``MAX_FILTER_VALUES``."""
    values = request.args.getlist(name)
    if len(values) > MAX_FILTER_VALUES:
        raise ApiError(
            400,
            f"The parameter {name} is given {len(values)} times. Use at most "
            f"{MAX_FILTER_VALUES} values.",
            name,
        )
    return values


def text_args(name: str) -> tuple[str, ...]:
    values = []
    for raw in repeated_args(name):
        value = raw.strip()
        if not value:
            continue
        if len(value) > FIELD_LENGTH_LIMIT:
            raise ApiError(
                400,
                f"The parameter {name} is {len(value)} characters long. Use at "
                f"most {FIELD_LENGTH_LIMIT}.",
                name,
            )
        values.append(value)
    return tuple(values)


def sales_query() -> analytics.SalesQuery:
    """Build the sales filter from the repeatable year, month, company, model and
    source parameters, scoped to what the current user may see."""
    years = tuple(
        parse_int("year", raw, *YEAR_RANGE)
        for raw in repeated_args("year")
        if raw.strip()
    )
    months = tuple(
        parse_int("month", raw, 1, 12) for raw in repeated_args("month") if raw.strip()
    )
    sources = text_args("source")
    for kind in sources:
        if kind not in SOURCE_KINDS:
            raise ApiError(
                400,
                f"The parameter source={kind!r} is invalid. Use json, csv or api.",
                "source",
            )
    return analytics.SalesQuery(
        owner_id=analytics.scope_owner(current_user),
        years=years,
        months=months,
        companies=text_args("company"),
        models=text_args("model"),
        sources=sources,
    )


def check_task_name(name: Any) -> None:
    """Raise ``ApiError`` for a task name that is given but cannot be stored.

    A missing or blank name is left to ``tasks_service.create_task``, which
    reports it as required.
    """
    if name is None:
        return
    if not isinstance(name, str):
        raise ApiError(
            400, f"Invalid name: must be a string, got {json_kind(name)}.", "name"
        )
    if _NAME_UNPRINTABLE.search(name):
        raise ApiError(
            400,
            "Invalid name: contains a control character or an invalid code point; "
            "use printable text only.",
            "name",
        )


def find_task(task_id: int) -> FetchTask:
    task = tasks_service.get_task(current_user, task_id)
    if task is None:
        raise ApiError(404, f"Task {task_id} was not found.", "task_id")
    return task


@bp.post("/tokens")
@limiter.limit(login_rate_limit)
def create_token() -> tuple[Response, int]:
    body = json_body()
    username = body.get("username")
    password = body.get("password")
    for name, value in (("username", username), ("password", password)):
        if not isinstance(value, str) or not value:
            raise ApiError(
                400, f"The field {name} is required and must be a string.", name
            )

    user = authenticate(username, password)
    if user is None:
        log.info("rejected an API token request for username %r", username[:64])
        raise ApiError(401, "The username or password is wrong.", "password")
    token_row, token = ApiToken.issue(user)
    db.session.add(token_row)
    db.session.commit()
    log.info("issued API token %s to user %s", token_row.id, user.id)
    return jsonify(token=token), 201


@bp.get("/me")
def show_me() -> Response:
    return jsonify(
        id=current_user.id,
        username=current_user.username,
        role=current_user.role,
        csrf_token=generate_csrf(),
    )


@bp.post("/uploads")
def create_upload() -> tuple[Response, int]:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ApiError(
            400,
            "No file was sent. Send it as multipart/form-data in the field 'file'.",
            "file",
        )
    try:
        upload = tasks_service.save_upload(current_user, file)
    except SpecError as exc:
        raise spec_error(exc) from None
    except PermissionError:
        raise viewer_error() from None
    body = jsonify(upload_id=upload.id, filename=upload.filename, size=upload.size)
    return body, 201


@bp.post("/tasks")
def create_task() -> tuple[Response, int, dict[str, str]]:
    body = json_body()
    for name in body:
        if name not in TASK_FIELDS:
            raise ApiError(
                400,
                f"The field {name!r} is unknown. Send name, source and filters.",
                name,
            )
    check_task_name(body.get("name"))
    try:
        task = tasks_service.create_task(
            current_user, body.get("name"), body.get("source"), body.get("filters")
        )
    except SpecError as exc:
        raise spec_error(exc) from None
    except PermissionError:
        raise viewer_error() from None
    location = url_for("api.get_task", task_id=task.id)
    return jsonify(tasks_service.task_dict(task)), 202, {"Location": location}


@bp.get("/tasks")
def list_tasks() -> Response:
    check_known_args(("limit",))
    limit = int_arg("limit", 200, 1, MAX_LIST_LIMIT)
    tasks = tasks_service.visible_tasks(current_user, limit=limit)
    return jsonify(items=[tasks_service.task_dict(task) for task in tasks])


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Response:
    return jsonify(tasks_service.task_dict(find_task(task_id)))


@bp.post("/tasks/<int:task_id>/retry")
def retry_task(task_id: int) -> tuple[Response, int]:
    task = find_task(task_id)
    try:
        task = tasks_service.retry_task(current_user, task)
    except tasks_service.TaskStateError as exc:
        message = str(exc).rstrip(".")
        raise ApiError(409, f"{message[:1].upper()}{message[1:]}.", "status") from None
    except PermissionError:
        raise viewer_error() from None
    return jsonify(tasks_service.task_dict(task)), 202


@bp.get("/tasks/<int:task_id>/rejections")
def list_rejections(task_id: int) -> Response:
    check_known_args(("limit",))
    limit = int_arg("limit", 50, 1, MAX_LIST_LIMIT)
    task = find_task(task_id)
    rows = tasks_service.rejected_sample(task, limit=limit)
    items = [
        {"line_no": row.line_no, "raw": row.raw, "reason": row.reason} for row in rows
    ]
    return jsonify(task_id=task.id, rows_rejected=task.rows_rejected, items=items)


@bp.get("/sales/summary")
def sales_summary() -> Response:
    check_known_args(SALES_FILTERS)
    return jsonify(analytics.summary(sales_query()))


@bp.get("/sales")
def list_sales() -> Response:
    check_known_args((*SALES_FILTERS, "page", "per_page"))
    query = sales_query()
    page = int_arg("page", 1, 1, 10**9)
    per_page = int_arg("per_page", DEFAULT_SALES_PER_PAGE, 1, analytics.MAX_PER_PAGE)

    items, total = analytics.list_sales(query, page, per_page)
    for item in items:
        item["sold_at"] = with_offset(item["sold_at"], item["utc_offset_minutes"])
    next_url = None
    if page * per_page < total:
        next_url = page_url("api.list_sales", page + 1)
    return jsonify(
        items=items, page=page, per_page=per_page, total=total, next=next_url
    )


def with_offset(local_time: str, offset_minutes: int | None) -> str:
    """Append the UTC offset to a local ISO time, as in 2024-03-09T12:00:00+01:00."""
    if offset_minutes is None:
        return local_time
    return local_time + demo_feed.utc_offset_text(offset_minutes)


def page_url(endpoint: str, page: int) -> str:
    """Return the absolute URL of this request's ``page``, other parameters kept."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(endpoint, _external=True, **args)


@bp.get("/sales/export")
def export_sales() -> Response:
    check_known_args(SALES_FILTERS)
    query = sales_query()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {
        "Content-Disposition": f'attachment; filename="forecourt-sales-{stamp}.csv"',
        "Cache-Control": "no-store",
    }
    return Response(
        stream_with_context(csv_chunks(analytics.export_rows(query))),
        mimetype="text/csv",
        headers=headers,
    )


def csv_chunks(rows: Iterator[list[str]]) -> Iterator[str]:
    """Encode rows as CSV text in chunks of about ``EXPORT_FLUSH_BYTES``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= EXPORT_FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.get("/sales/options")
def sales_options() -> Response:
    check_known_args(("company",))
    owner_id = analytics.scope_owner(current_user)
    return jsonify(analytics.filter_options(owner_id, text_args("company")))


@bp.get("/demo/feed")
def demo_feed_page() -> Response:
    check_known_args(("page", "per_page", "seed"))
    page = int_arg("page", 1, 1, 10**9)
    per_page = int_arg("per_page", DEFAULT_FEED_PER_PAGE, 1, MAX_LIST_LIMIT)
    seed = int_arg("seed", 1, 0, 2**31 - 1)

    today = datetime.now(UTC).date()
    result = demo_feed.feed_page(seed, page, per_page, today)
    next_url = None
    if page < result.total_pages:
        next_url = page_url("api.demo_feed_page", page + 1)
    return jsonify(
        data=result.records,
        page=page,
        per_page=per_page,
        total_pages=result.total_pages,
        total=result.total_records,
        next=next_url,
    )


@bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def unknown_route(path: str) -> Response:
    return error_response(
        404,
        f"There is no API route {request.method} /api/v1/{path}. Check the path "
        "and method.",
    )
