"""The REST API with hostile input: task names, secrets, paths and filter lists."""

from __future__ import annotations

import logging

import pytest

from dashboard.components import source_display_names
from models import FetchTask, db
from tests.support.factories import DATA
from tests.web.conftest import seed_sales, user_id

SECRET = "s3cret-Value-42"
CSV_PATH = "real/car_sales_report.csv"


def post_task(app, headers, body: dict):
    return app.test_client().post("/api/v1/tasks", headers=headers, json=body)


def task_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(FetchTask.id))).scalar_one()


def api_source(**options) -> dict:
    return {"kind": "api", "url": "https://feeds.example.com/sales", **options}


@pytest.mark.parametrize(
    "name",
    ["Weekly\x00sales", "Weekly\nsales", "Weekly\x1b[2J", "Weekly\ud800", "\x85"],
)
def test_task_name_control_characters_rejected(app, auth_headers, name):
    headers = auth_headers("ana")

    response = post_task(
        app, headers, {"name": name, "source": {"kind": "csv", "path": CSV_PATH}}
    )
    body = response.get_json()

    assert response.status_code == 400
    assert body["field"] == "name"
    assert body["error"] == (
        "Invalid name: contains a control character or an invalid code point; use "
        "printable text only."
    )
    assert task_count(app) == 0


@pytest.mark.parametrize(
    ("name", "kind"),
    [(42, "a number"), (["Weekly"], "a list"), (True, "true or false")],
)
def test_task_name_not_string_rejected(app, auth_headers, name, kind):
    headers = auth_headers("ana")

    response = post_task(
        app, headers, {"name": name, "source": {"kind": "csv", "path": CSV_PATH}}
    )
    body = response.get_json()

    assert response.status_code == 400
    assert body["field"] == "name"
    assert body["error"] == f"Invalid name: must be a string, got {kind}."


def test_task_name_missing_still_required(app, auth_headers):
    headers = auth_headers("ana")

    response = post_task(app, headers, {"source": {"kind": "csv", "path": CSV_PATH}})

    assert response.status_code == 400
    assert response.get_json()["field"] == "name"
    assert "is required" in response.get_json()["error"]


def test_task_name_with_accents_accepted(app, auth_headers):
    headers = auth_headers("ana")

    response = post_task(
        app,
        headers,
        {"name": "Ventes Citroën – été", "source": {"kind": "csv", "path": CSV_PATH}},
    )

    assert response.status_code == 202


@pytest.mark.parametrize("control", ["\r\n", "\n", "\x00"])
def test_header_with_line_break_rejected(app, auth_headers, caplog, control):
    headers = auth_headers("ana")
    source = api_source(headers={"X-Api-Key": f"{SECRET}{control}X-Admin: yes"})

    with caplog.at_level(logging.INFO):
        response = post_task(app, headers, {"name": "feed", "source": source})
    body = response.get_json()

    assert response.status_code == 400
    assert body["field"] == "source.headers.X-Api-Key"
    assert "control character" in body["error"]
    assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in caplog.text
    assert task_count(app) == 0


@pytest.mark.parametrize(
    "source",
    [
        api_source(headers=[f"Authorization: Bearer {SECRET}"]),
        api_source(headers=f"Authorization: Bearer {SECRET}"),
        api_source(headers={"Authorization": [f"Bearer {SECRET}"]}),
        api_source(url=f"https://ana:{SECRET}@feeds.example.com/sales"),
        api_source(url=f"ftp://ana:{SECRET}@feeds.example.com/sales"),
        [f"Bearer {SECRET}"],
    ],
    ids=[
        "headers-list",
        "headers-string",
        "header-value-list",
        "url-password",
        "ftp-password",
        "source-list",
    ],
)
def test_invalid_secrets_not_echoed(app, auth_headers, caplog, source):
    headers = auth_headers("ana")

    with caplog.at_level(logging.INFO):
        response = post_task(app, headers, {"name": "feed", "source": source})

    assert response.status_code == 400
    assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in caplog.text


def test_task_masks_secret_query_parameters(app, auth_headers):
    headers = auth_headers("ana")
    source = api_source(
        url=f"https://feeds.example.com/sales?region=eu&access_token={SECRET}",
        params={"api_key": SECRET, "page_size": "100"},
        records_path="data",
    )

    created = post_task(app, headers, {"name": "feed", "source": source})
    response = app.test_client().get(created.headers["Location"], headers=headers)
    body = response.get_json()

    assert created.status_code == 202
    assert SECRET not in created.get_data(as_text=True)
    assert SECRET not in response.get_data(as_text=True)
    assert body["source"]["url"] == (
        "https://feeds.example.com/sales?region=eu&access_token=********"
    )
    assert body["source"]["params"] == {"api_key": "********", "page_size": "100"}
    assert body["source_name"] == body["source"]["url"]


def test_tasks_page_masks_secret_query_parameters(app, auth_headers):
    headers = auth_headers("ana")
    source = api_source(url=f"https://feeds.example.com/sales?token={SECRET}")
    created = post_task(app, headers, {"name": "feed", "source": source})
    assert created.status_code == 202

    with app.app_context():
        tasks = list(db.session.execute(db.select(FetchTask)).scalars())
        names = source_display_names(tasks)

    assert list(names.values()) == ["https://feeds.example.com/sales?token=********"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("real/car_sales_report.csv\x00.txt", "contains a NUL character"),
        ("a/" * 600 + "sales.csv", "is 1,209 characters long; use at most 1,024"),
        ("x" * 1000 + ".csv", "file not found"),
        ("nowhere.csv", "file not found"),
    ],
    ids=["nul", "long-path", "long-name", "missing"],
)
def test_task_bad_path_is_400(app, auth_headers, path, message):
    headers = auth_headers("ana")

    response = post_task(
        app, headers, {"name": "file", "source": {"kind": "csv", "path": path}}
    )
    body = response.get_json()

    assert response.status_code == 400
    assert body["field"] == "source.path"
    assert message in body["error"]
    assert str(DATA) not in body["error"]
    for folder in app.config["DATA_DIRS"]:
        assert folder not in body["error"]


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib_codec"])
def test_task_binary_codec_rejected(app, auth_headers, encoding):
    headers = auth_headers("ana")
    source = {"kind": "csv", "path": CSV_PATH, "encoding": encoding}

    response = post_task(app, headers, {"name": "file", "source": source})

    assert response.status_code == 400
    assert response.get_json()["field"] == "source.encoding"


@pytest.fixture
def seeded(app, auth_headers):
    headers = auth_headers("ana")
    seed_sales(
        app,
        user_id(app, "ana"),
        [("Toyota", "Corolla", "2023-01-05", "21000.00", "csv")],
    )
    return headers


@pytest.mark.parametrize("name", ["year", "month", "company", "model", "source"])
def test_sales_filter_more_than_50_values(app, seeded, name):
    values = {"year": "2023", "month": "1", "source": "csv"}
    query = "&".join(f"{name}={values.get(name, 'Kia')}" for _ in range(51))

    response = app.test_client().get(f"/api/v1/sales/summary?{query}", headers=seeded)
    body = response.get_json()

    assert response.status_code == 400
    assert body["field"] == name
    assert body["error"] == (
        f"The parameter {name} is given 51 times. Use at most 50 values."
    )


def test_sales_filter_50_values_accepted(app, seeded):
    query = "&".join(f"company=Make{number}" for number in range(49))

    response = app.test_client().get(
        f"/api/v1/sales/summary?{query}&company=Toyota", headers=seeded
    )

    assert response.status_code == 200
    assert response.get_json()["total_sales"] == 1
