"""Who may reach what: anonymous requests, other users' tasks, admins and viewers.

The anonymous checks walk ``app.url_map``, so a route added later is covered
without editing this file.
"""

from __future__ import annotations

import re

import pytest

from dashboard.security import OPEN_ENDPOINTS
from tests.web.conftest import add_task, user_id

# A rule variable such as <id>, <int:task_id> or <path:fingerprinted_path>.
RULE_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")
# Sample values per converter; other converters get "dash".
CONVERTER_SAMPLES = {"int": "1", "path": "tasks/1"}
EXTRA_PATHS = [
    ("GET", "/"),
    ("GET", "/tasks"),
    ("GET", "/tasks/1"),
    ("GET", "/analytics"),
    ("GET", "/_dash-layout"),
    ("GET", "/_dash-dependencies"),
    ("POST", "/_dash-update-component"),
    ("GET", "/_dash-component-suites/dash/dcc/dash_core_components.js"),
    ("GET", "/api/v1/unknown"),
]


def sample_path(rule) -> str:
    def sample(match: re.Match) -> str:
        return CONVERTER_SAMPLES.get(match.group(1) or "default", "dash")

    return RULE_VARIABLE.sub(sample, rule.rule)


def guarded_requests(app) -> list[tuple[str, str, str]]:
    """Return (endpoint, method, path) for every route that needs a user."""
    requests = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((rule.endpoint, method, sample_path(rule)))
    return requests


def expects_json(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/_")


def check_anonymous(client, method: str, path: str) -> None:
    response = client.open(path, method=method)
    where = f"{method} {path}"
    if expects_json(path):
        assert response.status_code == 401, where
        assert response.is_json, where
        assert "Authentication required" in response.get_json()["error"], where
    else:
        assert response.status_code == 302, where
        assert response.headers["Location"].startswith("/login?next="), where


def test_url_map_covers_api_and_dash_routes(app):
    endpoints = {endpoint for endpoint, _, _ in guarded_requests(app)}
    paths = {path for _, _, path in guarded_requests(app)}

    assert "api.create_task" in endpoints
    assert "api.demo_feed_page" in endpoints
    assert "/_dash-update-component" in paths
    assert "/_dash-layout" in paths
    assert "/api/v1/tokens" not in paths


def test_every_guarded_route_refuses_anonymous(app):
    client = app.test_client()
    requests = guarded_requests(app)

    assert len(requests) > 20
    for _, method, path in requests:
        check_anonymous(client, method, path)


@pytest.mark.parametrize(("method", "path"), EXTRA_PATHS)
def test_named_routes_refuse_anonymous(client, method, path):
    check_anonymous(client, method, path)


def test_bad_bearer_token_refused(client):
    response = client.get(
        "/api/v1/tasks", headers={"Authorization": "Bearer not-a-real-token"}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/login", "/register", "/healthz", "/bootstrap/static/css/bootstrap.min.css"],
)
def test_open_routes_allow_anonymous(client, path):
    assert client.get(path).status_code == 200


def test_other_users_task_hidden(app, auth_headers):
    ana = auth_headers("ana")
    bob = auth_headers("bob")
    task_id = add_task(app, user_id(app, "ana"))
    client = app.test_client()

    listed = client.get("/api/v1/tasks", headers=bob).get_json()["items"]
    read = client.get(f"/api/v1/tasks/{task_id}", headers=bob)
    rejections = client.get(f"/api/v1/tasks/{task_id}/rejections", headers=bob)
    retried = client.post(f"/api/v1/tasks/{task_id}/retry", headers=bob)
    own = client.get(f"/api/v1/tasks/{task_id}", headers=ana)

    assert listed == []
    assert read.status_code == 404
    assert read.get_json() == {
        "error": f"Task {task_id} was not found.",
        "field": "task_id",
    }
    assert rejections.status_code == 404
    assert retried.status_code == 404
    assert own.status_code == 200


def test_admin_sees_and_retries_any_task(app, auth_headers):
    auth_headers("ana")
    root = auth_headers("root", role="admin")
    task_id = add_task(app, user_id(app, "ana"), status="failed")
    client = app.test_client()

    listed = client.get("/api/v1/tasks", headers=root).get_json()["items"]
    read = client.get(f"/api/v1/tasks/{task_id}", headers=root)
    retried = client.post(f"/api/v1/tasks/{task_id}/retry", headers=root)

    assert [task["id"] for task in listed] == [task_id]
    assert read.status_code == 200
    assert read.get_json()["owner"] == "ana"
    assert retried.status_code == 202
    assert retried.get_json()["status"] == "pending"


def test_viewer_reads_but_cannot_write(app, auth_headers):
    viewer = auth_headers("vic", role="viewer")
    task_id = add_task(app, user_id(app, "vic"))
    client = app.test_client()

    read = client.get(f"/api/v1/tasks/{task_id}", headers=viewer)
    retried = client.post(f"/api/v1/tasks/{task_id}/retry", headers=viewer)
    created = client.post(
        "/api/v1/tasks",
        headers=viewer,
        json={
            "name": "x",
            "source": {"kind": "csv", "path": "real/car_sales_report.csv"},
        },
    )

    assert read.status_code == 200
    assert retried.status_code == 403
    assert "viewer role" in retried.get_json()["error"]
    assert created.status_code == 403
