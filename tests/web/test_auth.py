"""Sign in, register and sign out through the HTML forms."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.auth import safe_next
from models import User, db
from tests.support.factories import CASES, PASSWORD, add_user, sign_in
from tests.web.conftest import csrf_token_from, make_app

NEXT_TABLE = CASES / "login_next_values.txt"


def load_next_cases() -> list[tuple[str, str]]:
    """Read ``value<TAB>expected (comment)`` lines. A value may contain a tab."""
    cases = []
    for line in NEXT_TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        value, _, expected = line.rpartition("\t")
        cases.append((value, expected.split()[0]))
    return cases


def register(client, username: str, password: str = PASSWORD, confirm=None):
    data = {
        "username": username,
        "password": password,
        "confirm": password if confirm is None else confirm,
    }
    return client.post("/register", data=data)


def signed_in_as(client) -> str | None:
    response = client.get("/api/v1/me")
    if response.status_code != 200:
        return None
    return response.get_json()["username"]


def roles(app) -> dict[str, str]:
    with app.app_context():
        users = db.session.execute(db.select(User)).scalars()
        return {user.username: user.role for user in users}


def test_login_page_uses_local_bootstrap(client):
    response = client.get("/login")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "/bootstrap/static/css/bootstrap.min.css" in page
    assert "Forecourt" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200


def test_register_first_user_becomes_admin(app):
    client = app.test_client()

    response = register(client, "Ana")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_as(client) == "Ana"
    assert roles(app) == {"Ana": "admin"}


def test_register_later_users_are_analysts(app, make_user):
    make_user("root", role="admin")

    response = register(app.test_client(), "bob")

    assert response.status_code == 302
    assert roles(app)["bob"] == "analyst"


def test_register_stores_hashed_password(app):
    register(app.test_client(), "ana")

    with app.app_context():
        user = User.find("ana")
        assert PASSWORD not in user.password_hash
        assert user.check_password(PASSWORD)


def test_register_duplicate_name_any_case(app, make_user):
    make_user("ana")
    client = app.test_client()

    response = register(client, "ANA")

    assert response.status_code == 200
    assert "The username &#39;ANA&#39; is taken" in response.get_data(as_text=True)
    assert set(roles(app)) == {"ana"}
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("ana", "short", None, "A password has at least 8 characters"),
        ("ab", PASSWORD, None, "A username has 3 to 64 characters."),
        ("a" * 65, PASSWORD, None, "A username has 3 to 64 characters."),
        ("ana smith", PASSWORD, None, "may contain only letters, digits"),
        ("ana<x>", PASSWORD, None, "may contain only letters, digits"),
        ("ana", PASSWORD, "something else", "The two passwords do not match."),
        ("", PASSWORD, None, "Choose a username."),
    ],
)
def test_register_invalid_input(app, username, password, confirm, message):
    client = app.test_client()

    response = register(client, username, password, confirm)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert roles(app) == {}


def test_register_closed_by_config(tmp_path):
    app = make_app(tmp_path, REGISTRATION_OPEN=False)
    client = app.test_client()

    page = client.get("/login").get_data(as_text=True)
    response = register(client, "ana")

    assert response.status_code == 403
    assert "Registration is closed" in response.get_data(as_text=True)
    assert "Create one" not in page
    assert roles(app) == {}


def test_sign_in_redirects_home(app, make_user):
    make_user("ana")
    client = app.test_client()

    response = sign_in(client, "ana")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_as(client) == "ana"


def test_sign_in_username_any_case(app, make_user):
    make_user("ana")
    client = app.test_client()

    response = sign_in(client, " ANA ")

    assert response.status_code == 302
    assert signed_in_as(client) == "ana"


@pytest.mark.parametrize("username", ["ana", "nobody"])
def test_sign_in_wrong_credentials(app, make_user, username):
    make_user("ana")
    client = app.test_client()

    response = sign_in(client, username, "wrong password")

    assert response.status_code == 200
    assert "The username or password is wrong." in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_sign_in_empty_form_names_fields(client):
    response = client.post("/login", data={})
    page = response.get_data(as_text=True)

    assert "Enter your username." in page
    assert "Enter your password." in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_sign_out(analyst_client, method):
    response = getattr(analyst_client, method)("/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert signed_in_as(analyst_client) is None


def test_sign_out_invalidates_copied_cookie(app, analyst_client):
    cookie = analyst_client.get_cookie("session")
    assert analyst_client.get("/api/v1/me").status_code == 200

    analyst_client.get("/logout")

    # A copy of the cookie taken before signing out signs no one in.
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/api/v1/me").status_code == 401
    assert replay.get("/tasks").status_code == 302


def test_sign_in_rate_limited(limited_app):
    add_user(limited_app, "ana")
    client = limited_app.test_client()

    statuses = [sign_in(client, "ana", "wrong password").status_code for _ in range(3)]
    blocked = sign_in(client, "ana")

    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_register_rate_limited(limited_app):
    client = limited_app.test_client()

    statuses = [
        register(client, f"ana{number}", PASSWORD, "mismatch").status_code
        for number in range(3)
    ]
    blocked = register(client, "bob", PASSWORD)

    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "Too many registration attempts from this address" in page
    assert "Create an account" in page
    assert roles(limited_app) == {}


def test_register_page_not_rate_limited(limited_app):
    client = limited_app.test_client()

    statuses = [client.get("/register").status_code for _ in range(5)]

    assert statuses == [200] * 5


@pytest.mark.parametrize(("value", "expected"), load_next_cases())
def test_sign_in_next_table(app, make_user, value, expected):
    make_user("ana")
    client = app.test_client()

    form = client.get("/login", query_string={"next": value})
    response = client.post(
        "/login",
        query_string={"next": value},
        data={"username": "ana", "password": PASSWORD},
    )

    assert form.status_code == 200
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_next_table_covers_required_values():
    values = {value for value, _ in load_next_cases()}

    assert "/\tevil.example/" in values
    assert "" in values
    assert len(values) >= 17


@pytest.mark.parametrize(
    "value",
    [
        "/api/v1/tasks",
        "/_dash-layout",
        "/_reload-hash",
        "/logout",
        "/%2F%2Fevil.example",
        "/%255Cevil.example",
        "/tasks\r\nLocation: http://evil.example",
        "http:/evil.example",
        "/\x00evil",
    ],
)
def test_safe_next_refuses_more_values(value):
    assert safe_next(value) == "/"


def test_signed_in_user_visiting_login_goes_to_next(analyst_client):
    response = analyst_client.get("/login?next=/analytics")

    assert response.status_code == 302
    assert response.headers["Location"] == "/analytics"


def test_anonymous_page_redirects_to_login_with_next(client):
    response = client.get("/tasks?id=5")

    location = urlsplit(response.headers["Location"])

    assert response.status_code == 302
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/tasks?id=5"]}


def test_csrf_required_on_sign_in(csrf_app):
    add_user(csrf_app, "ana")
    client = csrf_app.test_client()

    refused = sign_in(client, "ana")
    page = client.get("/login").get_data(as_text=True)
    accepted = client.post(
        "/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page),
        },
    )

    assert refused.status_code == 400
    assert "The form expired" in refused.get_data(as_text=True)
    assert accepted.status_code == 302


def test_csrf_required_on_register_and_sign_out(csrf_app):
    client = csrf_app.test_client()

    refused = register(client, "ana")
    page = client.get("/register").get_data(as_text=True)
    token = csrf_token_from(page)
    accepted = client.post(
        "/register",
        data={
            "username": "ana",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": token,
        },
    )
    sign_out_refused = client.post("/logout")

    assert refused.status_code == 400
    assert accepted.status_code == 302
    assert sign_out_refused.status_code == 400
    assert signed_in_as(client) == "ana"
