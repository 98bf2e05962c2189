"""Request authentication, and the rule that everything but sign-in needs a user.

Sessions come from Flask-Login cookies; scripts send ``Authorization: Bearer
<token>`` with a token from ``POST /api/v1/tokens``.
"""

from __future__ import annotations

from flask import Flask, jsonify, redirect, request, url_for
from flask_login import current_user

from dashboard.extensions import login_manager
from models import ApiToken, User, db

# Endpoints that anonymous requests may reach.
OPEN_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.register",
        "auth.logout",
        "api.create_token",
        "health.healthz",
        "bootstrap.static",
        "static",
    }
)


def wants_json() -> bool:
    """True for API and Dash machinery requests, which get 401 instead of a redirect."""
    path = request.path
    return (
        path.startswith("/api/")
        or path.startswith("/_dash-")
        or path.startswith("/_reload-hash")
        or path.startswith("/_favicon")
        or request.accept_mimetypes.best == "application/json"
    )


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Return the user of a session id ``"<user id>:<session version>"``."""
    user_id, _, version = session_id.partition(":")
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or str(user.session_version) != version:
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.execute(
        db.select(ApiToken).where(
            ApiToken.token_hash == ApiToken.hash_token(token.strip())
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return db.session.get(User, row.user_id)


def init_security(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @app.before_request
    def require_login():
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        if current_user.is_authenticated:
            return None
        if wants_json():
            response = jsonify(
                error=(
                    "Authentication required. Sign in, or send an API token in "
                    "the header Authorization: Bearer <token>."
                ),
                field=None,
            )
            response.status_code = 401
            return response
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
