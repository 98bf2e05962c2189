"""Sign in, register and sign out, and the account rules the CLI shares.

The first account ever registered becomes an admin, so a new install needs no
command-line step. Every later self-registered account is an analyst.
"""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.extensions import limiter
from dashboard.forms import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    LoginForm,
    RegisterForm,
)
from models import ROLES, User, db

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to check when the username is unknown.

    A wrong name then takes as long as a wrong password, so the response time
    does not reveal which names exist. It is made on first use because scrypt
    takes about 32 MB and 0.1 s, which every process importing this module
    (workers too) would otherwise pay at start-up.
    """
    return generate_password_hash("not-a-real-password", method="scrypt")


# Paths a browser must never be sent to after signing in: Dash's JSON routes
# (all start with "/_"), the REST API, and sign-out.
_BLOCKED_NEXT_PREFIXES = ("/_", "/api/", "/logout")
_UNSAFE_RAW = re.compile(r"[\x00-\x20\x7f\\]")
_UNSAFE_DECODED = re.compile(r"[\x00-\x1f\x7f\\]")


class AccountError(ValueError):
    """An account cannot be created. ``field`` names the bad input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def check_new_account(username: str, password: str, role: str) -> None:
    """Raise ``AccountError`` unless the username, password and role are valid."""
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise AccountError(
            "username",
            f"The username {username!r} has {len(username)} characters. Use "
            f"{USERNAME_MIN} to {USERNAME_MAX}.",
        )
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise AccountError(
            "username",
            f"The username {username!r} may contain only letters, digits, dots, "
            "dashes and underscores.",
        )
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(
            "password",
            f"The password has {len(password)} characters. Use at least "
            f"{PASSWORD_MIN} (at most {PASSWORD_MAX}).",
        )
    if role not in ROLES:
        raise AccountError(
            "role", f"The role {role!r} is unknown. Use {', '.join(ROLES)}."
        )


def create_account(username: str, password: str, role: str | None = None) -> User:
    """Validate and store a new account, or raise ``AccountError``.

    With ``role`` None the first account ever becomes an admin and later ones
    analysts.
    """
    username = username.strip()
    if role is None:
        # NOTE: two registrations racing on an empty database can both become
        # admins, because nothing locks the users table between count and insert.
        has_users = db.session.execute(db.select(User.id).limit(1)).first()
        role = "analyst" if has_users else "admin"
    check_new_account(username, password, role)
    taken = AccountError(
        "username", f"The username {username!r} is taken. Choose another one."
    )
    if User.find(username) is not None:
        raise taken

    user = User(username=username, username_key=User.key_for(username), role=role)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # Another request registered the same name between the check and here.
        db.session.rollback()
        raise taken from None
    log.info("created user %s (%s) with role %s", user.id, user.username, role)
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the user when the password matches, else None."""
    user = User.find(username) if username else None
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password):
        return None
    return user


def safe_next(value: str | None) -> str:
    """Return ``value`` when it is a same-site path to send a browser to, else "/".

    A good value keeps its query and fragment. Backslashes and control
    characters are rejected, also percent-encoded in the path, because browsers
    turn ``/\\host`` and ``/<tab>/host`` into ``//host``, another site.
    """
    if not value or _UNSAFE_RAW.search(value):
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"

    path = parts.path
    for _ in range(3):
        path = unquote(path)
    if _UNSAFE_DECODED.search(path) or path.startswith("//"):
        return "/"
    if path.lower().startswith(_BLOCKED_NEXT_PREFIXES):
        return "/"
    return value


def registration_open() -> bool:
    return bool(current_app.config.get("REGISTRATION_OPEN", True))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> Response | str:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target)

    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            log.info("user %s signed in", user.id)
            return redirect(target)
        log.info("failed sign-in for username %r", form.username.data[:64])
        error = "The username or password is wrong. Check both and try again."
    return render_template(
        "auth/login.html",
        form=form,
        error=error,
        registration_open=registration_open(),
    )


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def register() -> Response | str:
    if not registration_open():
        return render_template("auth/register_closed.html"), 403
    if current_user.is_authenticated:
        return redirect("/")

    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_account(form.username.data, form.password.data)
        except AccountError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            login_user(user)
            return redirect("/")
    return render_template("auth/register.html", form=form)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        log.info("user %s signed out", current_user.id)
        # Ends this session and any copy of its cookie, and the user's other
        # browser sessions too.
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


def render_login_error(message: str, status: int) -> tuple[str, int]:
    page = render_template(
        "auth/login.html",
        form=LoginForm(),
        error=message,
        registration_open=registration_open(),
    )
    return page, status


@bp.errorhandler(429)
def too_many_attempts(error: HTTPException) -> tuple[str, int]:
    log.info("rate limit reached on %s: %s", request.path, error.description)
    if request.endpoint == "auth.register":
        form = RegisterForm()
        form.form_errors.append(
            "Too many registration attempts from this address (the limit is "
            f"{error.description}). Wait, then try again."
        )
        return render_template("auth/register.html", form=form), 429
    return render_login_error(
        "Too many sign-in attempts from this address (the limit is "
        f"{error.description}). Wait, then try again.",
        429,
    )


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int]:
    log.info("rejected a form post to %s: %s", request.path, error.description)
    message = "The form expired or was sent from another site. Reload it and try again."
    if request.endpoint == "auth.register" and registration_open():
        form = RegisterForm()
        form.form_errors.append(message)
        return render_template("auth/register.html", form=form), 400
    return render_login_error(message, 400)
