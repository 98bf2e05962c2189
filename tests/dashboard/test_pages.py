"""Dash pages through the Flask test client, as a signed-in browser calls them."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from dashboard import components
from dashboard.pages import _task_form as task_form
from models import ApiToken, FetchTask, RejectedRow, Upload, db
from sources.errors import SpecError
from tests.dashboard.conftest import (
    add_task,
    call_dash,
    quick_user,
    seed_sales,
    signed_in_client,
)

PAGES_LOCATION = "_pages_location"
ANALYTICS_FILTERS = (
    "analytics-year",
    "analytics-month",
    "analytics-company",
    "analytics-model",
    "analytics-source",
)
SALES = [
    ("Toyota", "Camry", "2023-01-15", "25000.00", "csv", "T1"),
    ("Toyota", "Corolla", "2023-02-20", "20000.50", "api", "T2"),
    ("Honda", "Civic", "2022-02-03", "23950.50", "json", "H1"),
]


@pytest.fixture
def ana(app) -> int:
    return quick_user(app, "ana")


@pytest.fixture
def ana_client(app, ana):
    return signed_in_client(app, ana)


def render_page(client, path: str) -> str:
    """Run Dash's page router for ``path`` and return the page JSON as text."""
    response = call_dash(
        client,
        "_pages_content",
        {(PAGES_LOCATION, "pathname"): path, (PAGES_LOCATION, "search"): ""},
        triggered=[f"{PAGES_LOCATION}.pathname"],
    )
    assert response.status_code == 200, response.data[:500]
    # Dash escapes "/" as \u002f in its JSON, so decode it before searching.
    return json.dumps(response.get_json(), ensure_ascii=False)


def find_component(node, component_id):
    """Return the props of the component with ``component_id`` in a layout tree."""
    if isinstance(node, list):
        for child in node:
            found = find_component(child, component_id)
            if found is not None:
                return found
        return None
    if not isinstance(node, dict):
        return None
    props = node.get("props", {})
    if props.get("id") == component_id:
        return props
    return find_component(props.get("children"), component_id)


def page_tree(client, path: str):
    payload = json.loads(render_page(client, path))
    return payload["response"]["_pages_content"]["children"]


def callback_response(response) -> dict:
    assert response.status_code == 200, response.data[:500]
    return response.get_json()["response"]


def analytics_refresh(client, **filters):
    values = {
        (component, "value"): filters.get(component.split("-", 1)[1])
        for component in ANALYTICS_FILTERS
    }
    return callback_response(call_dash(client, "analytics-volume", values))


# Layout and sign-in


def test_layout_shows_user_and_sign_out(ana_client):
    response = ana_client.get("/_dash-layout")
    text = json.dumps(response.get_json())
    assert response.status_code == 200
    assert "ana" in text
    assert "/logout" in text
    assert "Sign out" in text


def test_dash_routes_need_sign_in(app):
    client = app.test_client()
    layout = client.get("/_dash-layout")
    update = client.post("/_dash-update-component", json={})
    assert layout.status_code == 401
    assert update.status_code == 401


def test_page_route_redirects_anonymous(app):
    response = app.test_client().get("/analytics")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


# Task list


def test_task_list_empty_state(ana_client):
    tree = page_tree(ana_client, "/tasks")
    text = json.dumps(tree)
    interval = find_component(tree, "tasks-interval")
    assert "No fetch tasks yet" in text
    assert "/tasks/new" in text
    assert interval["disabled"] is True


def test_site_root_shows_task_list(app, ana, ana_client):
    add_task(app, ana, name="Root listed task")
    assert "Root listed task" in render_page(ana_client, "/")


def test_task_list_rows_and_links(app, ana, ana_client):
    task_id = add_task(app, ana, name="Dealer export", status="failed")
    text = render_page(ana_client, "/tasks")
    assert "Dealer export" in text
    assert f"/tasks/{task_id}" in text
    assert "dealer_export.csv" in text
    assert "Failed" in text
    assert "tasks-retry" in text


def test_task_list_hides_other_users(app, ana, ana_client):
    bob = quick_user(app, "bob")
    add_task(app, bob, name="Bob private task")
    text = render_page(ana_client, "/tasks")
    assert "Bob private task" not in text
    assert "Owner" not in text


def test_task_list_admin_sees_all_with_owner(app, ana):
    admin = quick_user(app, "root", role="admin")
    add_task(app, ana, name="Ana task")
    text = render_page(signed_in_client(app, admin), "/tasks")
    assert "Ana task" in text
    assert "Owner" in text


def test_task_list_interval_enabled_while_active(app, ana, ana_client):
    add_task(app, ana, status="pending")
    interval = find_component(page_tree(ana_client, "/tasks"), "tasks-interval")
    assert interval["disabled"] is False


def tick_task_list(client) -> dict:
    response = call_dash(
        client,
        "tasks-table",
        {("tasks-interval", "n_intervals"): 3},
        triggered=["tasks-interval.n_intervals"],
    )
    return callback_response(response)


def test_task_list_refresh_disables_interval_when_idle(app, ana, ana_client):
    add_task(app, ana, status="completed")
    add_task(app, ana, status="failed")
    result = tick_task_list(ana_client)
    assert result["tasks-interval"]["disabled"] is True


def test_task_list_refresh_keeps_polling_active(app, ana, ana_client):
    add_task(
        app, ana, status="in_progress", bytes_read=25, bytes_total=100, rows_read=5
    )
    result = tick_task_list(ana_client)
    text = json.dumps(result["tasks-table"])
    assert result["tasks-interval"]["disabled"] is False
    assert "25%" in text
    assert "In progress" in text


def test_task_list_retry_requeues_failed(app, ana, ana_client):
    task_id = add_task(app, ana, status="failed", error="file not found")
    retry_id = {"type": "tasks-retry", "index": task_id}
    response = call_dash(
        ana_client,
        "tasks-table",
        {
            ("tasks-interval", "n_intervals"): None,
            ('{"index":["ALL"],"type":"tasks-retry"}', "n_clicks"): [
                {"id": retry_id, "property": "n_clicks", "value": 1}
            ],
        },
        triggered=[
            json.dumps(retry_id, separators=(",", ":"), sort_keys=True) + ".n_clicks"
        ],
    )
    result = callback_response(response)
    with app.app_context():
        task = db.session.get(FetchTask, task_id)
        assert task.status == "pending"
        assert task.error is None
    assert "queued again" in json.dumps(result["tasks-feedback"])
    assert result["tasks-interval"]["disabled"] is False


def test_task_list_new_retry_buttons_ignored(app, ana, ana_client):
    task_id = add_task(app, ana, status="failed")
    retry_id = {"type": "tasks-retry", "index": task_id}
    response = call_dash(
        ana_client,
        "tasks-table",
        {
            ("tasks-interval", "n_intervals"): None,
            ('{"index":["ALL"],"type":"tasks-retry"}', "n_clicks"): [
                {"id": retry_id, "property": "n_clicks", "value": None}
            ],
        },
        triggered=[
            json.dumps(retry_id, separators=(",", ":"), sort_keys=True) + ".n_clicks"
        ],
    )
    assert response.status_code == 204
    with app.app_context():
        assert db.session.get(FetchTask, task_id).status == "failed"


def test_unknown_path_shows_not_found(ana_client):
    text = render_page(ana_client, "/no/such/page")
    assert "Not found" in text
    assert "/tasks" in text


# Task detail


def test_task_detail_shows_counters_error_and_rejections(app, ana, ana_client):
    task_id = add_task(
        app,
        ana,
        status="failed",
        error="not valid UTF-8 at line 2 (byte 0xEB); try cp1252",
        rows_read=4,
        rows_loaded=2,
        rows_rejected=1,
    )
    with app.app_context():
        db.session.add(
            RejectedRow(
                task_id=task_id,
                line_no=4,
                raw="3,Dacia,Jog",
                reason="3 fields, expected 5",
            )
        )
        db.session.commit()
    text = render_page(ana_client, f"/tasks/{task_id}")
    assert "not valid UTF-8 at line 2" in text
    assert "3 fields, expected 5" in text
    assert "3,Dacia,Jog" in text
    assert "Rejected" in text
    assert "dealer_export.csv" in text


def test_task_detail_hides_header_values(app, ana, ana_client):
    spec = {
        "kind": "api",
        "url": "https://api.example.com/sales",
        "headers": {"Authorization": "Bearer very-secret-token"},
        "params": {"region": "north"},
        "pagination": {"style": "cursor", "cursor_path": "meta.next"},
    }
    task_id = add_task(app, ana, source_kind="api", source_spec=spec)
    text = render_page(ana_client, f"/tasks/{task_id}")
    assert "very-secret-token" not in text
    assert "Authorization" in text
    assert "region=north" in text
    assert "meta.next" in text


def test_task_detail_other_users_task_not_found(app, ana_client):
    bob = quick_user(app, "bob")
    task_id = add_task(app, bob, name="Bob private task")
    text = render_page(ana_client, f"/tasks/{task_id}")
    assert "Not found" in text
    assert "Bob private task" not in text


@pytest.mark.parametrize("path", ["/tasks/99999", "/tasks/abc"])
def test_task_detail_missing_task(ana_client, path):
    text = render_page(ana_client, path)
    assert "Not found" in text
    assert "task-interval" not in text


def test_task_detail_polls_only_while_active(app, ana, ana_client):
    running = add_task(app, ana, status="in_progress")
    done = add_task(app, ana, status="completed")
    running_interval = find_component(
        page_tree(ana_client, f"/tasks/{running}"), "task-interval"
    )
    done_interval = find_component(
        page_tree(ana_client, f"/tasks/{done}"), "task-interval"
    )
    assert running_interval["disabled"] is False
    assert done_interval["disabled"] is True


def test_task_detail_refresh_stops_when_finished(app, ana, ana_client):
    task_id = add_task(app, ana, status="completed", rows_loaded=8)
    response = call_dash(
        ana_client,
        "task-body",
        {("task-interval", "n_intervals"): 1, ("task-retry", "n_clicks"): None},
        state={("task-id", "data"): task_id},
        triggered=["task-interval.n_intervals"],
    )
    result = callback_response(response)
    assert result["task-interval"]["disabled"] is True
    assert result["task-retry"]["className"] == ""
    assert "Completed" in json.dumps(result["task-body"])


def test_task_detail_retry(app, ana, ana_client):
    task_id = add_task(app, ana, status="completed")
    response = call_dash(
        ana_client,
        "task-body",
        {("task-interval", "n_intervals"): None, ("task-retry", "n_clicks"): 1},
        state={("task-id", "data"): task_id},
        triggered=["task-retry.n_clicks"],
    )
    result = callback_response(response)
    with app.app_context():
        assert db.session.get(FetchTask, task_id).status == "pending"
    assert result["task-interval"]["disabled"] is False
    assert result["task-retry"]["className"] == "d-none"


# Analytics


def test_analytics_refresh_returns_four_figures(app, ana, ana_client):
    seed_sales(app, ana, SALES)
    result = analytics_refresh(ana_client)
    volume = result["analytics-volume"]["figure"]["data"][0]
    companies = result["analytics-companies"]["figure"]["data"][0]
    sources = result["analytics-sources"]["figure"]["data"][0]
    heatmap = result["analytics-heatmap"]["figure"]["data"][0]
    assert volume["type"] == "scatter"
    # 2022-02 to 2023-02 is 13 months, 10 of them without sales.
    assert volume["y"] == [1, *[None] * 10, 1, 1]
    assert companies["type"] == "bar"
    assert companies["y"] == ["Honda", "Toyota"]
    assert sources["type"] == "pie"
    assert heatmap["type"] == "heatmap"
    assert result["analytics-total-sales"]["children"] == "3"
    assert result["analytics-total-revenue"]["children"] == "$68,951.00"
    assert result["analytics-average-price"]["children"] == "$22,983.67"
    assert result["analytics-export"]["href"] == "/api/v1/sales/export"


def test_analytics_refresh_payload_is_small(app, ana, ana_client):
    # One point per month, not per sale: 400 sales in 12 months.
    rows = [
        (
            "Kia",
            "Rio",
            f"2023-{index % 12 + 1:02d}-{index % 28 + 1:02d}",
            "9999.99",
            "csv",
            str(index),
        )
        for index in range(400)
    ]
    seed_sales(app, ana, rows)
    response = call_dash(
        ana_client,
        "analytics-volume",
        {(component, "value"): None for component in ANALYTICS_FILTERS},
    )
    volume = callback_response(response)["analytics-volume"]["figure"]["data"][0]
    assert len(volume["x"]) == 12
    assert len(response.data) < 20_000


def test_analytics_filters_and_export_link(app, ana, ana_client):
    seed_sales(app, ana, SALES)
    result = analytics_refresh(
        ana_client, company=["Toyota"], year=[2023], source=["csv"]
    )
    href = result["analytics-export"]["href"]
    assert result["analytics-total-sales"]["children"] == "1"
    assert href == "/api/v1/sales/export?year=2023&company=Toyota&source=csv"


def test_analytics_empty_selection_shows_empty_states(app, ana, ana_client):
    seed_sales(app, ana, SALES)
    result = analytics_refresh(ana_client, year=[1999])
    for graph in (
        "analytics-volume",
        "analytics-companies",
        "analytics-sources",
        "analytics-heatmap",
    ):
        figure = result[graph]["figure"]
        assert figure["data"] == []
        assert (
            figure["layout"]["annotations"][0]["text"]
            == "No sales match these filters."
        )
    assert result["analytics-total-sales"]["children"] == "0"
    assert result["analytics-average-price"]["children"] == "—"


def test_analytics_page_without_data(ana_client):
    text = render_page(ana_client, "/analytics")
    assert "No sales are loaded yet" in text


def test_analytics_scoped_to_user(app, ana, ana_client):
    bob = quick_user(app, "bob")
    seed_sales(app, bob, [("Ford", "Focus", "2023-01-05", "18000.00", "csv", "F1")])
    seed_sales(app, ana, SALES)
    result = analytics_refresh(ana_client)
    assert "Ford" not in json.dumps(result["analytics-companies"])
    assert result["analytics-total-sales"]["children"] == "3"


def test_analytics_model_options_narrowed(app, ana, ana_client):
    seed_sales(app, ana, SALES)
    response = call_dash(
        ana_client,
        "analytics-model",
        {("analytics-company", "value"): ["Honda"]},
        state={("analytics-model", "value"): ["Camry", "Civic"]},
        triggered=["analytics-company.value"],
    )
    result = callback_response(response)
    assert result["analytics-model"]["options"] == ["Civic"]
    assert result["analytics-model"]["value"] == ["Civic"]


def test_analytics_model_value_kept_when_valid(app, ana, ana_client):
    seed_sales(app, ana, SALES)
    response = call_dash(
        ana_client,
        "analytics-model",
        {("analytics-company", "value"): ["Toyota"]},
        state={("analytics-model", "value"): ["Camry"]},
        triggered=["analytics-company.value"],
    )
    result = callback_response(response)
    assert result["analytics-model"]["options"] == ["Camry", "Corolla"]
    assert "value" not in result["analytics-model"]


# New task form


def new_task_state(**values) -> dict:
    """Form state for the submit callback: every field None unless given."""
    state = {("new-task-upload-store", "data"): values.pop("upload", None)}
    state[("new-task-dates", "start_date")] = values.pop("date_from", None)
    state[("new-task-dates", "end_date")] = values.pop("date_to", None)
    for name in task_form.FIELDS:
        component = "new-task-" + name.replace("_", "-")
        state[(component, "value")] = values.get(name)
    return state


def submit_form(client, **values):
    return call_dash(
        client,
        "new-task-alert",
        {("new-task-submit", "n_clicks"): 1},
        state=new_task_state(**values),
        triggered=["new-task-submit.n_clicks"],
    )


def task_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(FetchTask.id))).scalar_one()


def test_new_task_page_lists_stored_files(ana_client):
    response = call_dash(
        ana_client,
        "new-task-stored",
        {("new-task-kind", "value"): "csv", ("new-task-origin", "value"): "stored"},
    )
    result = callback_response(response)
    values = [option["value"] for option in result["new-task-stored"]["options"]]
    assert "path:data/real/car_sales_report.csv" in values
    assert not any(value.endswith(".json") for value in values)
    assert result["new-task-stored-pane"]["className"] == ""
    assert "d-none" in result["new-task-api-section"]["className"]


def test_new_task_stored_csv_creates_task(app, ana_client):
    response = submit_form(
        ana_client,
        name="Car sales report",
        kind="csv",
        origin="stored",
        stored="path:data/real/car_sales_report.csv",
        delimiter="auto",
        decimal=".",
        thousands="auto",
        encoding="auto",
        date_order="mdy",
        map_price="Price ($)",
        companies="Ford, Dodge",
        date_from="2022-01-01",
    )
    result = callback_response(response)
    with app.app_context():
        task = db.session.execute(db.select(FetchTask)).scalar_one()
        assert task.status == "pending"
        assert task.source_spec["date_order"] == "mdy"
        assert task.source_spec["mapping"] == {"price": "Price ($)"}
        assert task.filters["companies"] == ["Ford", "Dodge"]
        assert task.filters["date_from"] == "2022-01-01"
        assert result["new-task-redirect"]["href"] == f"/tasks/{task.id}"


def test_new_task_spec_error_names_field(app, ana_client):
    response = submit_form(
        ana_client,
        name="Missing file",
        kind="csv",
        origin="stored",
        stored="path:data/real/no_such_file.csv",
    )
    result = callback_response(response)
    text = json.dumps(result["new-task-alert"])
    assert "Stored file" in text
    assert "source.path" in text
    assert "no_such_file.csv" in text
    assert "new-task-redirect" not in result
    assert task_count(app) == 0


def test_new_task_requires_name(app, ana_client):
    response = submit_form(
        ana_client,
        kind="csv",
        origin="stored",
        stored="path:data/real/car_sales_report.csv",
    )
    text = json.dumps(callback_response(response)["new-task-alert"])
    assert "Task name" in text
    assert task_count(app) == 0


def test_new_task_bad_header_line(app, ana_client):
    response = submit_form(
        ana_client,
        name="Feed",
        kind="api",
        api_url="https://api.example.com/sales",
        headers="Authorization Bearer x",
    )
    text = json.dumps(callback_response(response)["new-task-alert"])
    assert "Headers" in text
    assert "line 1" in text
    assert task_count(app) == 0


def test_new_task_upload_then_create(app, ana, ana_client):
    content = (
        b"id,company,car_model,sale_date,price\n1,Honda,Civic,2023-02-03,23950.50\n"
    )
    data_url = "data:text/csv;base64," + base64.b64encode(content).decode()
    response = call_dash(
        ana_client,
        "new-task-upload-store",
        {("new-task-upload", "contents"): data_url},
        state={("new-task-upload", "filename"): "march.csv"},
        triggered=["new-task-upload.contents"],
    )
    stored = callback_response(response)["new-task-upload-store"]["data"]
    with app.app_context():
        upload = db.session.get(Upload, stored["id"])
        assert upload.owner_id == ana
        assert upload.filename == "march.csv"
        with open(upload.stored_path, "rb") as saved:
            assert saved.read() == content

    created = submit_form(
        ana_client, name="March upload", kind="csv", origin="upload", upload=stored
    )
    result = callback_response(created)
    with app.app_context():
        task = db.session.execute(db.select(FetchTask)).scalar_one()
        assert task.source_spec["upload_id"] == stored["id"]
    assert result["new-task-redirect"]["href"] == f"/tasks/{task.id}"


def test_new_task_upload_bad_base64(ana_client):
    response = call_dash(
        ana_client,
        "new-task-upload-store",
        {("new-task-upload", "contents"): "data:text/csv;base64,@@@"},
        state={("new-task-upload", "filename"): "broken.csv"},
        triggered=["new-task-upload.contents"],
    )
    result = callback_response(response)
    assert result["new-task-upload-store"]["data"] is None
    assert "broken.csv" in json.dumps(result["new-task-upload-status"])


def test_new_task_demo_feed_fills_api_form(app, ana, ana_client):
    response = call_dash(
        ana_client,
        "new-task-kind",
        {("new-task-demo", "n_clicks"): 1},
        state={("new-task-name", "value"): None},
        triggered=["new-task-demo.n_clicks"],
    )
    result = callback_response(response)
    assert result["new-task-kind"]["value"] == "api"
    assert result["new-task-api-url"]["value"].endswith("/api/v1/demo/feed")
    assert result["new-task-headers"]["value"].startswith("Authorization=Bearer ")
    assert result["new-task-pagination-style"]["value"] == "next"
    assert result["new-task-name"]["value"] == "Demo live feed"
    with app.app_context():
        tokens = db.session.execute(
            db.select(ApiToken).where(ApiToken.user_id == ana)
        ).all()
        assert len(tokens) == 1


def test_new_task_viewer_cannot_create(app):
    viewer = quick_user(app, "vera", role="viewer")
    client = signed_in_client(app, viewer)
    text = render_page(client, "/tasks/new")
    assert "viewer role" in text
    assert "new-task-submit" not in text


# Form conversion


def test_parse_pairs_lines():
    text = "region=north\n\nAuthorization: Bearer a=b\nempty=\n"
    assert task_form.parse_pairs(text, "source.headers") == {
        "region": "north",
        "Authorization": "Bearer a=b",
        "empty": "",
    }


@pytest.mark.parametrize("text", ["no separator here", "=value"])
def test_parse_pairs_rejects_bad_line(text):
    with pytest.raises(SpecError) as caught:
        task_form.parse_pairs("ok=1\n" + text, "source.params")
    assert caught.value.field == "source.params"
    assert "line 2" in caught.value.message


def test_build_source_api_pagination():
    source = task_form.build_source(
        {
            "kind": "api",
            "api_url": " https://api.example.com/sales ",
            "params": "per_page=100",
            "records_path": "data.items",
            "pagination_style": "offset",
            "offset_param": "skip",
            "limit": 100.0,
            "page_param": "ignored-for-offset",
            "max_pages": 20,
        }
    )
    assert source == {
        "kind": "api",
        "url": "https://api.example.com/sales",
        "params": {"per_page": "100"},
        "headers": {},
        "pagination": {
            "style": "offset",
            "offset_param": "skip",
            "limit": 100,
            "max_pages": 20,
        },
        "records_path": "data.items",
    }


def test_build_source_csv_options():
    source = task_form.build_source(
        {
            "kind": "csv",
            "origin": "stored",
            "stored": "upload:abc123",
            "delimiter": ";",
            "decimal": ",",
            "thousands": "none",
            "encoding": "cp1252",
            "date_order": "dmy",
            "currency": "eur",
            "map_company": "Marke",
        }
    )
    assert source == {
        "kind": "csv",
        "upload_id": "abc123",
        "delimiter": ";",
        "decimal": ",",
        "thousands": "",
        "encoding": "cp1252",
        "date_order": "dmy",
        "currency": "eur",
        "mapping": {"company": "Marke"},
    }


def test_build_source_csv_url_rejected():
    with pytest.raises(SpecError) as caught:
        task_form.build_source({"kind": "csv", "origin": "url", "file_url": "x"})
    assert caught.value.field == "source.url"


def test_build_source_needs_upload():
    with pytest.raises(SpecError) as caught:
        task_form.build_source({"kind": "json", "origin": "upload"})
    assert caught.value.field == "source.upload_id"


def test_build_filters_splits_names():
    filters = task_form.build_filters(
        {"companies": "Toyota, Honda\nBMW", "models": "", "date_to": "2023-12-31"}
    )
    assert filters == {
        "date_from": None,
        "date_to": "2023-12-31",
        "companies": ["Toyota", "Honda", "BMW"],
        "models": [],
    }


def test_error_text_uses_form_labels():
    error = SpecError("source.pagination.max_pages", "must be at most 100000, got 5")
    assert task_form.error_text(error) == (
        "Pagination max pages: must be at most 100000, got 5."
    )


# Shared components


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.4, "under 1 s"), (12, "12 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")],
)
def test_format_duration(seconds, expected):
    start = datetime(2024, 5, 3, 14, 0)
    assert components.format_duration(start, start + timedelta(seconds=seconds)) == (
        expected
    )


def test_format_duration_missing_end():
    assert components.format_duration(datetime(2024, 5, 3), None) == "—"


def test_format_time():
    value = datetime(2024, 5, 3, 14, 2, 41)
    assert components.format_time(value) == "3 May 2024, 14:02 UTC"
    assert components.format_time(value, seconds=True) == "3 May 2024, 14:02:41 UTC"
    assert components.format_time(None) == "—"


def test_sentence_capitalises_and_ends():
    assert components.sentence("task 5 is pending; wait") == "Task 5 is pending; wait."
    assert components.sentence("Done.") == "Done."
