"""The Forecourt web app: Flask owns sign-in, the REST API and health checks, and
Dash, mounted on the same Flask app, owns the pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.config import INSTANCE, load_config

log = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """Send log lines to stderr once, unless the host process already set handlers."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    root.setLevel(level)
    for noisy in ("urllib3", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def trust_proxies(app: Flask) -> None:
    """Read client address, scheme and host from ``PROXY_COUNT`` proxies' headers."""
    count = app.config.get("PROXY_COUNT", 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
        log.info("trusting X-Forwarded headers from %d proxies", count)


def create_app(
    test_config: dict[str, Any] | None = None, *, mount_dash: bool = True
) -> Flask:
    """Build the Flask app with Dash mounted on it.

    Workers pass ``mount_dash=False``: they run tasks in the app context and never
    serve a page, and Dash with its page modules costs about 55 MB per process.
    """
    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_mapping(load_config())
    if test_config:
        app.config.update(test_config)
    configure_logging(app.config["LOG_LEVEL"])
    INSTANCE.mkdir(parents=True, exist_ok=True)
    trust_proxies(app)

    from dashboard import api, auth, cli, health, security
    from dashboard.cache import init_cache
    from dashboard.database import init_database
    from dashboard.extensions import bootstrap, csrf, limiter, login_manager, migrate
    from dashboard.queue import init_celery
    from models import db

    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(INSTANCE.parent / "migrations"))
    app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
    bootstrap.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    security.init_security(app)
    init_celery(app)
    init_cache(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    cli.register_cli(app)
    if mount_dash:
        from dashboard.app_dash import init_dash

        init_dash(app)
    return app
