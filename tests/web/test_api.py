"""The REST API: tokens, uploads, tasks, sales queries, export and the demo feed."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard import demo_feed, tasks_service
from models import FetchTask, RejectedRow, Upload, User, db
from sources import HttpSettings, Normalizer, open_records
from sources.records import RawRecord, Rejection, SaleRecord
from sources.spec import parse_source_spec
from tests.support.factories import PASSWORD, add_user
from tests.web.conftest import (
    add_task,
    bearer,
    csrf_token_from,
    issue_token,
    seed_sales,
    user_id,
)

CSV_PATH = "real/car_sales_report.csv"
JSON_PATH = "data/sample_data_a.json"
LOOPBACK = ["127.0.0.1/32"]


def task_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(FetchTask.id))).scalar_one()


def queued_messages(app) -> int:
    """Count the messages waiting in the test app's SQLite broker."""
    path = app.config["BROKER_URL"].removeprefix("sqla+sqlite:///")
    with sqlite3.connect(path) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        if "kombu_message" not in tables:
            return 0
        return connection.execute("SELECT COUNT(*) FROM kombu_message").fetchone()[0]


def upload(client, headers, content: bytes, filename: str = "sales.csv"):
    return client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


# Tokens


def test_token_created_and_accepted(app, make_user):
    make_user("ana")
    client = app.test_client()

    response = client.post(
        "/api/v1/tokens", json={"username": "ana", "password": PASSWORD}
    )
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 201
    assert me.status_code == 200
    assert me.get_json()["username"] == "ana"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "ana", "password": "wrong password"}, 401, "password"),
        ({"username": "nobody", "password": PASSWORD}, 401, "password"),
        ({"password": PASSWORD}, 400, "username"),
        ({"username": "ana"}, 400, "password"),
        ({"username": "ana", "password": 12345678}, 400, "password"),
        (["ana", PASSWORD], 400, "body"),
    ],
)
def test_token_refused(app, make_user, body, status, field):
    make_user("ana")

    response = app.test_client().post("/api/v1/tokens", json=body)

    assert response.status_code == status
    assert response.get_json()["field"] == field
    assert response.get_json()["error"].endswith(".")


def test_token_not_json_body(app, make_user):
    make_user("ana")

    response = app.test_client().post(
        "/api/v1/tokens", data={"username": "ana", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_token_rate_limited(limited_app):
    add_user(limited_app, "ana")
    client = limited_app.test_client()
    wrong = {"username": "ana", "password": "wrong password"}

    statuses = [client.post("/api/v1/tokens", json=wrong).status_code for _ in range(3)]
    blocked = client.post(
        "/api/v1/tokens", json={"username": "ana", "password": PASSWORD}
    )

    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.is_json
    assert "Too many attempts" in blocked.get_json()["error"]


# Uploads


def test_upload_stored_on_disk(app, auth_headers):
    headers = auth_headers("ana")
    content = b"company,model,date,price\nFord,Focus,2023-01-02,12000\n"

    response = upload(app.test_client(), headers, content)
    body = response.get_json()

    assert response.status_code == 201
    assert body["filename"] == "sales.csv"
    assert body["size"] == len(content)
    with app.app_context():
        row = db.session.get(Upload, body["upload_id"])
        assert row.owner_id == user_id(app, "ana")
        with open(row.stored_path, "rb") as stored:
            assert stored.read() == content


def test_upload_missing_file(app, auth_headers):
    headers = auth_headers("ana")

    response = app.test_client().post(
        "/api/v1/uploads", headers=headers, data={}, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "file"
    assert "multipart/form-data" in response.get_json()["error"]


def test_upload_empty_file(app, auth_headers):
    response = upload(app.test_client(), auth_headers("ana"), b"")

    assert response.status_code == 400
    assert response.get_json()["field"] == "file"
    assert "is empty" in response.get_json()["error"]


def test_upload_too_large(app, auth_headers):
    headers = auth_headers("ana")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    response = upload(app.test_client(), headers, b"x" * (1024 * 1024 + 10))

    assert response.status_code == 413
    assert response.get_json()["field"] == "file"
    assert "limit of 1 MB" in response.get_json()["error"]


def test_upload_viewer_forbidden(app, auth_headers):
    response = upload(app.test_client(), auth_headers("vic", role="viewer"), b"a,b\n")

    assert response.status_code == 403
    with app.app_context():
        assert db.session.execute(db.select(Upload)).first() is None


# Creating tasks


def api_source(url: str = "https://feeds.example.com/sales") -> dict:
    return {
        "kind": "api",
        "url": url,
        "params": {"region": "eu"},
        "headers": {"Authorization": "Bearer partner-secret"},
        "records_path": "data",
        "pagination": {"style": "next", "next_path": "next"},
    }


@pytest.mark.parametrize(
    "source",
    [
        {"kind": "csv", "path": CSV_PATH},
        {"kind": "csv", "path": CSV_PATH, "delimiter": ",", "encoding": "utf-8"},
        {"kind": "json", "path": JSON_PATH},
        {"kind": "json", "url": "https://files.example.com/sales.json"},
        api_source(),
    ],
    ids=["csv-path", "csv-options", "json-path", "json-url", "api"],
)
def test_create_task_each_source(app, auth_headers, source):
    headers = auth_headers("ana")

    response = app.test_client().post(
        "/api/v1/tasks",
        headers=headers,
        json={
            "name": "Weekly sales",
            "source": source,
            "filters": {"companies": ["Ford"]},
        },
    )
    body = response.get_json()

    assert response.status_code == 202
    assert body["status"] == "pending"
    assert body["name"] == "Weekly sales"
    assert body["source"]["kind"] == source["kind"]
    assert body["filters"]["companies"] == ["Ford"]
    assert response.headers["Location"] == f"/api/v1/tasks/{body['id']}"
    assert "partner-secret" not in response.get_data(as_text=True)
    assert task_count(app) == 1
    assert queued_messages(app) == 1


def test_create_task_from_upload(app, auth_headers):
    headers = auth_headers("ana")
    client = app.test_client()
    upload_id = upload(
        client, headers, b"make,model,date,price\nKia,Rio,2023-02-01,9000\n"
    )
    upload_id = upload_id.get_json()["upload_id"]

    response = client.post(
        "/api/v1/tasks",
        headers=headers,
        json={"name": "Upload", "source": {"kind": "csv", "upload_id": upload_id}},
    )

    assert response.status_code == 202
    assert response.get_json()["source"]["upload_id"] == upload_id


def test_create_task_other_users_upload(app, auth_headers):
    ana = auth_headers("ana")
    bob = auth_headers("bob")
    client = app.test_client()
    upload_id = upload(client, ana, b"a,b\n1,2\n").get_json()["upload_id"]

    response = client.post(
        "/api/v1/tasks",
        headers=bob,
        json={"name": "Stolen", "source": {"kind": "csv", "upload_id": upload_id}},
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "source.upload_id"
    assert task_count(app) == 0


INVALID_TASKS = [
    ({"source": {"kind": "csv", "path": CSV_PATH}}, "name"),
    ({"name": "  ", "source": {"kind": "csv", "path": CSV_PATH}}, "name"),
    ({"name": "x" * 201, "source": {"kind": "csv", "path": CSV_PATH}}, "name"),
    ({"name": "t"}, "source"),
    ({"name": "t", "source": "sales.csv"}, "source"),
    ({"name": "t", "source": {"kind": "xml", "path": CSV_PATH}}, "source.kind"),
    (
        {"name": "t", "source": {"kind": "csv", "path": "real/missing.csv"}},
        "source.path",
    ),
    (
        {"name": "t", "source": {"kind": "csv", "path": "../../setup.cfg"}},
        "source.path",
    ),
    ({"name": "t", "source": {"kind": "csv"}}, "source"),
    (
        {"name": "t", "source": {"kind": "csv", "url": "https://a.example/x.csv"}},
        "source.url",
    ),
    ({"name": "t", "source": {"kind": "api"}}, "source.url"),
    (
        {"name": "t", "source": {"kind": "api", "url": "ftp://a.example/x"}},
        "source.url",
    ),
    (
        {
            "name": "t",
            "source": {"kind": "api", "url": "http://169.254.169.254/latest"},
        },
        "source.url",
    ),
    (
        {
            "name": "t",
            "source": {"kind": "csv", "path": CSV_PATH, "encoding": "klingon"},
        },
        "source.encoding",
    ),
    (
        {"name": "t", "source": {"kind": "csv", "path": CSV_PATH, "delimiter": ";;"}},
        "source.delimiter",
    ),
    (
        {"name": "t", "source": {**api_source(), "pagination": {"style": "bogus"}}},
        "source.pagination.style",
    ),
    (
        {
            "name": "t",
            "source": {"kind": "csv", "path": CSV_PATH, "mapping": {"colour": "c"}},
        },
        "source.mapping.colour",
    ),
    (
        {"name": "t", "source": {"kind": "csv", "upload_id": "0123abcd"}},
        "source.upload_id",
    ),
    (
        {"name": "t", "source": {"kind": "csv", "path": CSV_PATH, "colour": "red"}},
        "source.colour",
    ),
    (
        {
            "name": "t",
            "source": {"kind": "csv", "path": CSV_PATH},
            "filters": {"date_from": "2023-13-01"},
        },
        "filters.date_from",
    ),
    (
        {
            "name": "t",
            "source": {"kind": "csv", "path": CSV_PATH},
            "filters": {"colour": ["red"]},
        },
        "filters.colour",
    ),
    (
        {"name": "t", "source": {"kind": "csv", "path": CSV_PATH}, "priority": 1},
        "priority",
    ),
]


@pytest.mark.parametrize(("body", "field"), INVALID_TASKS)
def test_create_task_invalid_field(app, auth_headers, body, field):
    headers = auth_headers("ana")

    response = app.test_client().post("/api/v1/tasks", headers=headers, json=body)
    error = response.get_json()

    assert response.status_code == 400
    assert error["field"] == field
    assert field in error["error"]
    assert task_count(app) == 0
    assert queued_messages(app) == 0


def test_create_task_body_not_json(app, auth_headers):
    response = app.test_client().post(
        "/api/v1/tasks", headers=auth_headers("ana"), data="name=t"
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "body"
    assert task_count(app) == 0


# Reading and retrying tasks


def test_list_tasks_own_newest_first(app, auth_headers):
    headers = auth_headers("ana")
    ana = user_id(app, "ana")
    first = add_task(app, ana, name="first")
    second = add_task(app, ana, name="second")
    add_task(app, user_id(app, "ana"), name="third")
    auth_headers("bob")
    add_task(app, user_id(app, "bob"), name="bob's")
    client = app.test_client()

    listed = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    limited = client.get("/api/v1/tasks?limit=1", headers=headers).get_json()["items"]

    assert [task["name"] for task in listed] == ["third", "second", "first"]
    assert [task["id"] for task in limited] == [listed[0]["id"]]
    assert {first, second} < {task["id"] for task in listed}


def test_list_tasks_bad_limit(app, auth_headers):
    response = app.test_client().get(
        "/api/v1/tasks?limit=0", headers=auth_headers("ana")
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "limit"


def test_get_task_fields(app, auth_headers):
    headers = auth_headers("ana")
    task_id = add_task(app, user_id(app, "ana"))

    body = app.test_client().get(f"/api/v1/tasks/{task_id}", headers=headers).get_json()

    for name in (
        "id",
        "name",
        "status",
        "error",
        "warning",
        "rows_read",
        "rows_loaded",
        "rows_duplicate",
        "rows_filtered",
        "rows_rejected",
        "created_at",
        "started_at",
        "finished_at",
        "source",
        "filters",
        "progress",
        "owner",
    ):
        assert name in body, name
    assert body["rows_loaded"] == 8
    assert body["source"]["path"] == "sales.csv"


def test_get_task_missing(app, auth_headers):
    response = app.test_client().get("/api/v1/tasks/999", headers=auth_headers("ana"))

    assert response.status_code == 404
    assert response.get_json()["error"] == "Task 999 was not found."


def test_retry_finished_task(app, auth_headers):
    headers = auth_headers("ana")
    task_id = add_task(app, user_id(app, "ana"), status="failed")

    response = app.test_client().post(f"/api/v1/tasks/{task_id}/retry", headers=headers)

    assert response.status_code == 202
    assert response.get_json()["status"] == "pending"
    assert response.get_json()["rows_loaded"] == 0
    assert queued_messages(app) == 1


@pytest.mark.parametrize("status", ["pending", "in_progress"])
def test_retry_active_task_conflict(app, auth_headers, status):
    headers = auth_headers("ana")
    task_id = add_task(app, user_id(app, "ana"), status=status)

    response = app.test_client().post(f"/api/v1/tasks/{task_id}/retry", headers=headers)

    assert response.status_code == 409
    assert f"is {status}" in response.get_json()["error"]
    assert queued_messages(app) == 0


def test_rejections_listed_in_line_order(app, auth_headers):
    headers = auth_headers("ana")
    task_id = add_task(app, user_id(app, "ana"))
    with app.app_context():
        for line in (7, 3, 5):
            db.session.add(
                RejectedRow(
                    task_id=task_id, line_no=line, raw=f"row {line}", reason="bad price"
                )
            )
        db.session.commit()
    client = app.test_client()

    body = client.get(f"/api/v1/tasks/{task_id}/rejections", headers=headers).get_json()
    limited = client.get(
        f"/api/v1/tasks/{task_id}/rejections?limit=2", headers=headers
    ).get_json()
    too_many = client.get(
        f"/api/v1/tasks/{task_id}/rejections?limit=5000", headers=headers
    )

    assert [row["line_no"] for row in body["items"]] == [3, 5, 7]
    assert body["items"][0] == {"line_no": 3, "raw": "row 3", "reason": "bad price"}
    assert body["rows_rejected"] == 2
    assert len(limited["items"]) == 2
    assert too_many.status_code == 400
    assert too_many.get_json()["field"] == "limit"


# Sales


ANA_SALES = [
    ("Ford", "Focus", "2023-01-15", "10000.10", "csv"),
    ("Ford", "Fiesta", "2023-02-01", "8000.00", "csv"),
    ("Ford", "Focus", "2024-01-20", "12000.25", "json"),
    ("Kia", "Rio", "2023-01-03", "9000.00", "api"),
    ("Kia", "Ceed", "2024-03-09", "15000.65", "csv"),
]
BOB_SALES = [("Tesla", "Model 3", "2023-01-10", "40000.00", "api")]


@pytest.fixture
def seeded(app, auth_headers):
    """Ana's and Bob's sales; returns Ana's Bearer headers."""
    headers = auth_headers("ana")
    auth_headers("bob")
    seed_sales(app, user_id(app, "ana"), ANA_SALES)
    seed_sales(app, user_id(app, "bob"), BOB_SALES)
    return headers


def summary(app, headers, query: str = "") -> dict:
    response = app.test_client().get(f"/api/v1/sales/summary{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_summary_own_sales_only(app, seeded):
    body = summary(app, seeded)

    assert body["total_sales"] == 5
    assert body["revenue"] == "54001.00"
    assert [row["company"] for row in body["by_company"]] == ["Ford", "Kia"]
    assert {row["source"]: row["sales"] for row in body["by_source"]} == {
        "csv": 3,
        "json": 1,
        "api": 1,
    }


def test_summary_admin_sees_all(app, seeded, auth_headers):
    root = auth_headers("root", role="admin")

    body = summary(app, root)

    assert body["total_sales"] == 6
    assert body["revenue"] == "94001.00"


@pytest.mark.parametrize(
    ("query", "sales", "revenue"),
    [
        ("?year=2023", 3, "27000.10"),
        ("?year=2023&year=2024", 5, "54001.00"),
        ("?month=1", 3, "31000.35"),
        ("?year=2024&month=1", 1, "12000.25"),
        ("?company=Kia", 2, "24000.65"),
        ("?company=Kia&company=Ford", 5, "54001.00"),
        ("?model=Focus", 2, "22000.35"),
        ("?company=Ford&model=Rio", 0, "0.00"),
        ("?source=csv", 3, "33000.75"),
        ("?source=api&source=json", 2, "21000.25"),
        ("?company=Tesla", 0, "0.00"),
    ],
)
def test_summary_filters(app, seeded, query, sales, revenue):
    body = summary(app, seeded, query)

    assert body["total_sales"] == sales
    assert body["revenue"] == revenue


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?month=13", "month"),
        ("?month=0", "month"),
        ("?month=jan", "month"),
        ("?year=abc", "year"),
        ("?year=20233", "year"),
        ("?source=xml", "source"),
        ("?company=" + "x" * 121, "company"),
        ("?colour=red", "colour"),
    ],
)
def test_summary_bad_parameter(app, seeded, query, field):
    response = app.test_client().get(f"/api/v1/sales/summary{query}", headers=seeded)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert field in response.get_json()["error"]


def test_sales_pages_follow_next(app, seeded):
    client = app.test_client()
    url = "/api/v1/sales?per_page=2"
    pages = []
    while url:
        response = client.get(url, headers=seeded)
        assert response.status_code == 200
        pages.append(response.get_json())
        url = pages[-1]["next"]

    items = [item for page in pages for item in page["items"]]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert [page["page"] for page in pages] == [1, 2, 3]
    assert all(page["total"] == 5 for page in pages)
    assert [item["sale_date"] for item in items] == sorted(
        (row[2] for row in ANA_SALES), reverse=True
    )
    assert pages[0]["next"].startswith("http://localhost/api/v1/sales?")


def test_sales_next_keeps_filters(app, seeded):
    body = (
        app.test_client()
        .get(
            "/api/v1/sales?company=Ford&year=2023&year=2024&per_page=1", headers=seeded
        )
        .get_json()
    )
    query = parse_qs(urlsplit(body["next"]).query)

    assert body["total"] == 3
    assert query == {
        "company": ["Ford"],
        "year": ["2023", "2024"],
        "per_page": ["1"],
        "page": ["2"],
    }


def test_sales_items_usable_as_source(app, seeded):
    item = app.test_client().get("/api/v1/sales?per_page=1", headers=seeded).get_json()
    item = item["items"][0]

    assert item["company"] == "Kia"
    assert item["car_model"] == "Ceed"
    assert item["sale_date"] == "2024-03-09"
    assert item["sold_at"] == "2024-03-09T12:00:00+01:00"
    assert item["utc_offset_minutes"] == 60
    assert item["price"] == "15000.65"
    assert isinstance(item["id"], int)


@pytest.mark.parametrize(
    ("query", "field"),
    [("?per_page=1001", "per_page"), ("?per_page=0", "per_page"), ("?page=0", "page")],
)
def test_sales_bad_paging(app, seeded, query, field):
    response = app.test_client().get(f"/api/v1/sales{query}", headers=seeded)

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_sales_last_page_has_no_next(app, seeded):
    body = (
        app.test_client().get("/api/v1/sales?per_page=1000", headers=seeded).get_json()
    )

    assert body["per_page"] == 1000
    assert len(body["items"]) == 5
    assert body["next"] is None


def test_sales_options_narrow_models(app, seeded):
    client = app.test_client()

    everything = client.get("/api/v1/sales/options", headers=seeded).get_json()
    kia = client.get("/api/v1/sales/options?company=Kia", headers=seeded).get_json()

    assert everything["companies"] == ["Ford", "Kia"]
    assert everything["years"] == [2023, 2024]
    assert set(everything["models"]) == {"Ceed", "Fiesta", "Focus", "Rio"}
    assert set(kia["models"]) == {"Ceed", "Rio"}


def test_export_escapes_formulas(app, auth_headers):
    headers = auth_headers("ana")
    seed_sales(
        app,
        user_id(app, "ana"),
        [
            ("=1+2", "Focus", "2023-01-06", "10000.00", "csv"),
            ("@SUM(1;2)", "Golf", "2023-01-05", "10000.00", "csv"),
            ("+Opel", "Astra", "2023-01-04", "10000.00", "csv"),
            ("-Rio", "Rio", "2023-01-03", "10000.00", "csv"),
            (
                '=HYPERLINK("http://x.example","y")',
                "Up",
                "2023-01-02",
                "10000.00",
                "csv",
            ),
            ("Kia", "Rio", "2023-01-01", "9999.99", "csv"),
        ],
    )

    response = app.test_client().get("/api/v1/sales/export", headers=headers)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert len(rows) == 6
    assert [row["company"] for row in rows] == [
        "'=1+2",
        "'@SUM(1;2)",
        "'+Opel",
        "'-Rio",
        '\'=HYPERLINK("http://x.example","y")',
        "Kia",
    ]
    assert [row["price"] for row in rows] == ["10000.00"] * 5 + ["9999.99"]


def test_export_applies_filters(app, seeded):
    response = app.test_client().get(
        "/api/v1/sales/export?company=Kia&year=2024", headers=seeded
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))

    assert [(row["company"], row["car_model"]) for row in rows] == [("Kia", "Ceed")]


def test_export_bad_parameter(app, seeded):
    response = app.test_client().get("/api/v1/sales/export?month=13", headers=seeded)

    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["field"] == "month"


# CSRF on session-authenticated writes


def test_session_post_needs_csrf_header(csrf_app):
    add_user(csrf_app, "ana")
    token = issue_token(csrf_app, "ana")
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page),
        },
    )
    body = {"name": "t", "source": {"kind": "csv", "path": "real/missing.csv"}}

    refused = client.post("/api/v1/tasks", json=body)
    header_token = client.get("/api/v1/me").get_json()["csrf_token"]
    accepted = client.post(
        "/api/v1/tasks", json=body, headers={"X-CSRFToken": header_token}
    )
    with_bearer = csrf_app.test_client().post(
        "/api/v1/tasks", json=body, headers=bearer(token)
    )

    assert refused.status_code == 400
    assert refused.get_json()["field"] == "X-CSRFToken"
    assert accepted.get_json()["field"] == "source.path"
    assert with_bearer.get_json()["field"] == "source.path"


def test_unknown_api_route_json_404(app, auth_headers):
    response = app.test_client().get(
        "/api/v1/nothing/here", headers=auth_headers("ana")
    )

    assert response.status_code == 404
    assert response.is_json
    assert "GET /api/v1/nothing/here" in response.get_json()["error"]


# Demo feed


def feed(app, headers, query: str = "") -> dict:
    response = app.test_client().get(f"/api/v1/demo/feed{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_demo_feed_deterministic(app, auth_headers):
    headers = auth_headers("ana")

    first = feed(app, headers, "?seed=7&per_page=50&page=3")
    again = feed(app, headers, "?seed=7&per_page=50&page=3")
    other_seed = feed(app, headers, "?seed=8&per_page=50&page=3")

    assert first == again
    assert len(first["data"]) == 50
    assert first["data"] != other_seed["data"]


def test_demo_feed_next_links(app, auth_headers):
    headers = auth_headers("ana")
    client = app.test_client()

    body = feed(app, headers, "?per_page=1000&seed=3")
    last = client.get(
        f"/api/v1/demo/feed?per_page=1000&seed=3&page={body['total_pages']}",
        headers=headers,
    ).get_json()
    beyond = feed(app, headers, f"?per_page=1000&seed=3&page={body['total_pages'] + 1}")
    query = parse_qs(urlsplit(body["next"]).query)

    assert query == {"per_page": ["1000"], "seed": ["3"], "page": ["2"]}
    assert body["total_pages"] == -(-body["total"] // 1000)
    assert last["next"] is None
    assert 0 < len(last["data"]) <= 1000
    assert beyond["data"] == []
    assert beyond["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("?per_page=1001", "per_page"), ("?page=0", "page"), ("?seed=x", "seed")],
)
def test_demo_feed_bad_parameter(app, auth_headers, query, field):
    response = app.test_client().get(
        f"/api/v1/demo/feed{query}", headers=auth_headers("ana")
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def all_records(seed: int, today: date, per_page: int) -> list[dict]:
    records = []
    page = 1
    while True:
        result = demo_feed.feed_page(seed, page, per_page, today)
        records.extend(result.records)
        if page >= result.total_pages:
            return records
        page += 1


def test_demo_feed_pages_cover_every_record_once():
    today = date(2024, 3, 1)

    small = all_records(5, today, 7)
    large = all_records(5, today, 1000)

    assert small == large
    assert len({record["id"] for record in small}) == len(small)
    assert len(small) == demo_feed.feed_page(5, 1, 7, today).total_records


def test_demo_feed_grows_with_date():
    monday = demo_feed.feed_page(1, 1, 10_000, date(2024, 3, 4))
    tuesday = demo_feed.feed_page(1, 1, 10_000, date(2024, 3, 5))
    next_year = demo_feed.feed_page(1, 1, 10_000, date(2025, 3, 5))

    assert tuesday.total_records > monday.total_records
    assert next_year.total_records > tuesday.total_records
    assert tuesday.records[: len(monday.records)] == monday.records
    assert len(monday.records) == monday.total_records
    assert monday.records[-1]["sale_date"][:10] == "2024-03-03"
    assert tuesday.records[-1]["sale_date"][:10] == "2024-03-04"


def test_demo_feed_records_realistic():
    records = demo_feed.feed_page(2, 1, 2000, date(2024, 6, 1)).records
    clean = [r for r in records if isinstance(r["price"], float)]
    dollar_strings = [r["price"] for r in records if isinstance(r["price"], str)]
    companies = {r["company"].strip().title() for r in records}
    models = {(r["company"].strip().lower(), r["car_model"]) for r in records}

    assert len(records) == 2000
    assert len(companies) >= 28
    assert len(models) >= 250
    assert all(8000 <= r["price"] < 150_000 for r in clean)
    assert any(round(r["price"] * 100) % 100 for r in clean)
    assert dollar_strings
    assert all(text.startswith("$") and "," in text for text in dollar_strings)
    assert any(r["company"].islower() for r in records)
    for record in records:
        sold = datetime.fromisoformat(record["sale_date"])
        assert sold.utcoffset() is not None
        assert date(2023, 1, 1) <= sold.date() < date(2024, 6, 1)


def read_source(source: dict) -> tuple[list[SaleRecord], list[Rejection]]:
    """Fetch an API source over HTTP and normalise it, as a worker does."""
    spec = parse_source_spec(source, data_dirs=[], allowed_networks=LOOPBACK)
    settings = HttpSettings(timeout=10, retries=0, allowed_networks=LOOPBACK)
    normalizer = Normalizer(spec)
    sales, rejections = [], []
    with open_records(spec, http=settings) as stream:
        for item in stream:
            if isinstance(item, RawRecord):
                item = normalizer.normalize(item)
            if isinstance(item, Rejection):
                rejections.append(item)
            else:
                sales.append(item)
    return sales, rejections


def test_sales_api_is_source_for_forecourt(app, seeded, live_url):
    token = issue_token(app, "ana")
    source = {
        "kind": "api",
        "url": f"{live_url}/api/v1/sales",
        "params": {"per_page": "2"},
        "headers": {"Authorization": f"Bearer {token}"},
        "records_path": "items",
        "pagination": {"style": "next", "next_path": "next"},
        "mapping": {"sale_date": "sold_at"},
    }

    sales, rejections = read_source(source)
    expected = sorted(ANA_SALES, key=lambda row: row[2], reverse=True)

    assert rejections == []
    assert [(sale.company, sale.car_model) for sale in sales] == [
        (row[0], row[1]) for row in expected
    ]
    assert [str(sale.price) for sale in sales] == [row[3] for row in expected]
    assert [sale.sale_date.isoformat() for sale in sales] == [
        row[2] for row in expected
    ]
    assert all(sale.utc_offset_minutes == 60 for sale in sales)
    assert all(sale.sold_at.hour == 12 for sale in sales)
    assert len({sale.source_record_id for sale in sales}) == 5


def test_demo_feed_source_loads_without_rejections(app, auth_headers, live_url):
    auth_headers("ana")
    with app.test_request_context():
        source = tasks_service.demo_feed_source(User.find("ana"), live_url)
    expected = demo_feed.feed_page(1, 1, 1, datetime.now(UTC).date()).total_records

    sales, rejections = read_source(source)

    assert rejections == []
    assert len(sales) == expected
    assert {sale.company for sale in sales} <= set(demo_feed.CATALOGUE)
    assert all(8000 <= sale.price < 150_000 for sale in sales)
    assert all(sale.utc_offset_minutes is not None for sale in sales)


def test_demo_feed_dates_never_in_future():
    today = datetime.now(UTC).date()
    records = demo_feed.feed_page(1, 1, 1, today)
    last = demo_feed.feed_page(1, records.total_pages, 1, today).records[0]

    assert datetime.fromisoformat(last["sale_date"]).date() == today - timedelta(days=1)
