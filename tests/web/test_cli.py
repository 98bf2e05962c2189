"""The create-user and create-token commands, run through Flask's CLI runner."""

from __future__ import annotations

import pytest

from models import ApiToken, User, db
from tests.support.factories import PASSWORD
from tests.web.conftest import bearer


def create_user(app, *args: str, password: str | None = PASSWORD):
    runner = app.test_cli_runner()
    stdin = "" if password is None else password + "\n"
    return runner.invoke(args=["create-user", *args], input=stdin)


def find_user(app, username: str) -> User | None:
    with app.app_context():
        user = User.find(username)
        if user is not None:
            db.session.expunge(user)
        return user


def test_create_user_reads_stdin_password(app):
    result = create_user(app, "ana", "--role", "admin")

    user = find_user(app, "ana")
    assert result.exit_code == 0, result.output
    assert "Created user 'ana' with role admin." in result.output
    assert user.role == "admin"
    assert user.check_password(PASSWORD)
    assert PASSWORD not in user.password_hash


def test_create_user_default_role_analyst(app):
    result = create_user(app, "bob")

    assert result.exit_code == 0, result.output
    assert find_user(app, "bob").role == "analyst"


def test_create_user_viewer_role(app):
    result = create_user(app, "vic", "--role", "viewer")

    assert result.exit_code == 0, result.output
    assert find_user(app, "vic").role == "viewer"


def test_create_user_duplicate_any_case(app, make_user):
    make_user("ana")

    result = create_user(app, "ANA")

    assert result.exit_code == 1
    assert "The username 'ANA' is taken" in result.output


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("ana", "short", "The password has 5 characters. Use at least 8"),
        ("ab", PASSWORD, "The username 'ab' has 2 characters. Use 3 to 64."),
        ("ana smith", PASSWORD, "may contain only letters, digits"),
        ("ana", None, "No password on standard input."),
    ],
)
def test_create_user_invalid_input(app, username, password, message):
    result = create_user(app, username, password=password)

    assert result.exit_code == 1
    assert message in result.output
    assert find_user(app, username) is None


def test_create_user_unknown_role(app):
    result = create_user(app, "ana", "--role", "owner")

    assert result.exit_code == 2
    assert "'owner' is not one of 'admin', 'analyst', 'viewer'" in result.output
    assert find_user(app, "ana") is None


def test_create_user_password_keeps_spaces(app):
    result = create_user(app, "ana", password="  spaced password  ")

    assert result.exit_code == 0, result.output
    assert find_user(app, "ana").check_password("  spaced password  ")


def test_create_token_prints_working_token(app, make_user):
    make_user("ana")

    result = app.test_cli_runner().invoke(args=["create-token", "ana"])
    token = result.output.strip()
    response = app.test_client().get("/api/v1/me", headers=bearer(token))

    assert result.exit_code == 0, result.output
    assert len(token) >= 40
    assert response.status_code == 200
    assert response.get_json()["username"] == "ana"
    with app.app_context():
        stored = db.session.execute(db.select(ApiToken.token_hash)).scalars().all()
    assert stored == [ApiToken.hash_token(token)]


def test_create_token_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["create-token", "nobody"])

    assert result.exit_code == 1
    assert "The user 'nobody' does not exist." in result.output


def test_set_role_changes_role(app, make_user):
    make_user("vic", role="viewer")

    result = app.test_cli_runner().invoke(args=["set-role", "vic", "analyst"])

    assert result.exit_code == 0, result.output
    assert "now analyst (was viewer)" in result.output
    assert find_user(app, "vic").role == "analyst"


def test_set_role_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["set-role", "nobody", "admin"])

    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_revoke_tokens_stops_token(app, make_user):
    make_user("ana")
    runner = app.test_cli_runner()
    token = runner.invoke(args=["create-token", "ana"]).output.strip()

    result = runner.invoke(args=["revoke-tokens", "ana"])

    assert result.exit_code == 0, result.output
    assert "Revoked 1 API tokens" in result.output
    response = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
