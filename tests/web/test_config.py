"""Settings from FORECOURT_* variables: cookies, networks, proxies, trusted hosts."""

from __future__ import annotations

import pytest

from dashboard import create_app
from dashboard.config import ConfigError, load_config
from dashboard.extensions import limiter
from models import db
from tests.support.factories import add_user, base_config
from tests.web.conftest import bearer, issue_token, make_app

NETWORKS = "FORECOURT_HTTP_ALLOWED_NETWORKS"


@pytest.fixture
def environ(monkeypatch):
    """Set FORECOURT_* variables for one test, starting from none of them."""
    for name in ("ENV", "SECRET_KEY", "SECURE_COOKIES", "HTTP_ALLOWED_NETWORKS"):
        monkeypatch.delenv(f"FORECOURT_{name}", raising=False)
    for name in ("PROXY_COUNT", "TRUSTED_HOSTS"):
        monkeypatch.delenv(f"FORECOURT_{name}", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "secure"),
    [
        ({}, False),
        ({"FORECOURT_SECURE_COOKIES": "true"}, True),
        ({"FORECOURT_ENV": "production", "FORECOURT_SECRET_KEY": "k" * 40}, True),
        (
            {
                "FORECOURT_ENV": "production",
                "FORECOURT_SECRET_KEY": "k" * 40,
                "FORECOURT_SECURE_COOKIES": "false",
            },
            False,
        ),
    ],
)
def test_remember_cookie_secure_follows_session(environ, variables, secure):
    for name, value in variables.items():
        environ.setenv(name, value)

    config = load_config()

    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["REMEMBER_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("value", ["none", "NONE", " None ", "", "  "])
def test_allowed_networks_none_or_empty(environ, value):
    environ.setenv(NETWORKS, value)

    assert load_config()["HTTP_ALLOWED_NETWORKS"] == []


def test_allowed_networks_default_loopback_in_development(environ):
    assert load_config()["HTTP_ALLOWED_NETWORKS"] == ["127.0.0.0/8", "::1/128"]


def test_allowed_networks_parsed(environ):
    environ.setenv(NETWORKS, "10.0.0.0/8, 192.168.1.7 ,::1,, 172.16.0.1/12")

    assert load_config()["HTTP_ALLOWED_NETWORKS"] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "::1/128",
        "172.16.0.0/12",
    ]


@pytest.mark.parametrize("entry", ["intranet", "10.0.0.0/33", "300.1.1.1", "none"])
def test_allowed_networks_invalid_entry_fails(environ, entry):
    environ.setenv(NETWORKS, f"10.0.0.0/8,{entry}")

    with pytest.raises(ConfigError) as caught:
        load_config()

    assert str(caught.value) == (
        f"{NETWORKS} contains {entry!r}, which is not an IP address or CIDR "
        "network; use entries such as 10.0.0.0/8 or ::1, or none"
    )


def test_invalid_network_stops_app_start(environ, tmp_path):
    environ.setenv(NETWORKS, "intranet")

    with pytest.raises(ConfigError):
        create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'app.db'}"))


def test_proxy_count_and_trusted_hosts_defaults(environ):
    config = load_config()

    assert config["PROXY_COUNT"] == 0
    assert config["TRUSTED_HOSTS"] is None


def test_proxy_count_and_trusted_hosts_read(environ):
    environ.setenv("FORECOURT_PROXY_COUNT", "2")
    environ.setenv("FORECOURT_TRUSTED_HOSTS", "forecourt.example.com, .example.org")

    config = load_config()

    assert config["PROXY_COUNT"] == 2
    assert config["TRUSTED_HOSTS"] == ["forecourt.example.com", ".example.org"]


def test_proxy_count_invalid_fails(environ):
    environ.setenv("FORECOURT_PROXY_COUNT", "-1")

    with pytest.raises(ConfigError) as caught:
        load_config()

    assert "FORECOURT_PROXY_COUNT=-1 is below the minimum 0" in str(caught.value)


def feed_next(client, headers: dict) -> str:
    response = client.get("/api/v1/demo/feed?per_page=1", headers=headers)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["next"]


@pytest.fixture
def proxied_app(tmp_path):
    """An app behind one proxy, allowing 3 sign-in attempts per minute."""
    was_enabled = limiter.enabled
    app = make_app(
        tmp_path,
        PROXY_COUNT=1,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="3 per minute",
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    limiter.enabled = was_enabled


def sign_in_from(client, forwarded_for: str) -> int:
    response = client.post(
        "/login",
        data={"username": "ana", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def test_proxy_rate_limit_counts_client_addresses(proxied_app):
    client = proxied_app.test_client()

    first = [sign_in_from(client, "203.0.113.7") for _ in range(4)]
    other = sign_in_from(client, "203.0.113.8")

    assert first == [200, 200, 200, 429]
    assert other == 200


def test_proxy_trusts_only_last_forwarded_address(proxied_app):
    client = proxied_app.test_client()

    statuses = [
        sign_in_from(client, f"198.51.100.{number}, 203.0.113.9") for number in range(4)
    ]

    assert statuses == [200, 200, 200, 429]


def test_proxy_forwarded_scheme_and_host_in_links(proxied_app):
    add_user(proxied_app, "ana")
    headers = bearer(issue_token(proxied_app, "ana"))
    headers.update(
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "forecourt.example.com"}
    )

    next_url = feed_next(proxied_app.test_client(), headers)

    assert next_url.startswith("https://forecourt.example.com/api/v1/demo/feed?")


def test_without_proxy_forwarded_headers_ignored(app, make_user):
    make_user("ana")
    headers = bearer(issue_token(app, "ana"))
    headers["X-Forwarded-Host"] = "evil.example"

    next_url = feed_next(app.test_client(), headers)

    assert next_url.startswith("http://localhost/api/v1/demo/feed?")


def test_trusted_hosts_reject_forged_host(tmp_path):
    app = make_app(tmp_path, TRUSTED_HOSTS=["forecourt.example.com"])
    add_user(app, "ana")
    headers = bearer(issue_token(app, "ana"))
    client = app.test_client()

    forged = client.get(
        "/api/v1/demo/feed?per_page=1", headers={**headers, "Host": "evil.example"}
    )
    trusted = feed_next(client, {**headers, "Host": "forecourt.example.com"})

    assert forged.status_code == 400
    assert "is not trusted" in forged.get_data(as_text=True)
    assert trusted.startswith("http://forecourt.example.com/api/v1/demo/feed?")
