"""Settings read from ``FORECOURT_*`` environment variables.

Every setting has an embedded default that needs no server: a SQLite database and
a SQLite-backed Celery broker under ``instance/``. Production sets at least
``FORECOURT_DATABASE_URL``, ``FORECOURT_BROKER_URL`` and ``FORECOURT_SECRET_KEY``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

PREFIX = "FORECOURT_"
ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# A key that only the embedded default uses. ``FORECOURT_ENV=production``
# refuses to start with it.
DEVELOPMENT_SECRET = "forecourt-development-only-secret"


class ConfigError(ValueError):
    """A ``FORECOURT_*`` variable has a value that cannot be used."""


def _raw(name: str) -> str | None:
    value = os.environ.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            f"{PREFIX}{name}={value!r} is not an integer; set a whole number"
        ) from None
    if number < minimum:
        raise ConfigError(f"{PREFIX}{name}={number} is below the minimum {minimum}")
    return number


def env_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"{PREFIX}{name}={value!r} is not a number; set a number of seconds"
        ) from None


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{PREFIX}{name}={value!r} is not a boolean; use true or false")


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list of IP addresses or CIDR networks.

    ``none`` or an empty value gives an empty list; an unset variable gives
    ``default``. Raise ``ConfigError`` naming the first entry that is neither.
    """
    value = os.environ.get(PREFIX + name)
    if value is None:
        return list(default)
    if value.strip().lower() in ("", "none"):
        return []
    networks = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{PREFIX}{name} contains {item!r}, which is not an IP address or "
                "CIDR network; use entries such as 10.0.0.0/8 or ::1, or none"
            ) from None
    return networks


def env_hosts(name: str) -> list[str] | None:
    """Read a comma-separated list of host names; None when unset or empty."""
    hosts = env_list(name, [])
    return hosts or None


def load_config() -> dict:
    """Build the Flask config mapping from the environment."""
    env = env_str("ENV", "development")
    if env not in {"development", "production"}:
        raise ConfigError(
            f"{PREFIX}ENV={env!r} is invalid; use development or production"
        )
    secret = env_str("SECRET_KEY", DEVELOPMENT_SECRET)
    if env == "production" and secret == DEVELOPMENT_SECRET:
        raise ConfigError(
            f"{PREFIX}SECRET_KEY is not set; production needs a long random value"
        )
    database_url = env_str("DATABASE_URL", f"sqlite:///{INSTANCE / 'forecourt.db'}")
    if database_url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only accepts the postgresql scheme.
        database_url = "postgresql://" + database_url[len("postgres://") :]
    broker_url = env_str("BROKER_URL", f"sqla+sqlite:///{INSTANCE / 'broker.db'}")
    secure_cookies = env_bool("SECURE_COOKIES", env == "production")

    return {
        "FORECOURT_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BROKER_URL": broker_url,
        # Refresh-result cache: a redis:// URL, or empty for an in-process cache.
        "CACHE_URL": env_str("CACHE_URL", ""),
        "DATA_DIRS": [
            str(Path(p).resolve()) for p in env_list("DATA_DIRS", [str(ROOT / "data")])
        ],
        "UPLOAD_DIR": str(Path(env_str("UPLOAD_DIR", str(INSTANCE / "uploads")))),
        "MAX_CONTENT_LENGTH": env_int("MAX_UPLOAD_MB", 512, minimum=1) * 1024 * 1024,
        "INGEST_BATCH_SIZE": env_int("INGEST_BATCH_SIZE", 5000, minimum=1),
        # A CSV or NDJSON file of at least PARALLEL_MIN_MB is loaded in
        # PARALLEL_PARTS parts by as many workers as are free; 1 turns it off.
        "PARALLEL_PARTS": env_int("PARALLEL_PARTS", 4, minimum=1),
        "PARALLEL_MIN_BYTES": env_int("PARALLEL_MIN_MB", 256, minimum=1) * 1024 * 1024,
        "HTTP_TIMEOUT": env_float("HTTP_TIMEOUT", 20.0),
        "HTTP_MAX_BYTES": env_int("HTTP_MAX_MB", 200, minimum=1) * 1024 * 1024,
        "HTTP_MAX_PAGES": env_int("HTTP_MAX_PAGES", 1000, minimum=1),
        "HTTP_RETRIES": env_int("HTTP_RETRIES", 3),
        # First retry wait in seconds; each further retry waits twice as long.
        "HTTP_BACKOFF": env_float("HTTP_BACKOFF", 0.5),
        # Addresses or networks (CIDR) that source URLs may reach even though they
        # are private or loopback, e.g. "10.0.0.0/8". "none" or an empty value
        # refuses them all. The development default allows loopback so that the
        # demo feed and a second local instance work on a laptop.
        "HTTP_ALLOWED_NETWORKS": env_networks(
            "HTTP_ALLOWED_NETWORKS",
            [] if env == "production" else ["127.0.0.0/8", "::1/128"],
        ),
        "TASK_TIME_LIMIT": env_int("TASK_TIME_LIMIT", 3600, minimum=10),
        "TASK_STALE_AFTER": env_int("TASK_STALE_AFTER", 300, minimum=30),
        "LOGIN_RATE_LIMIT": env_str("LOGIN_RATE_LIMIT", "10 per minute"),
        # Where Flask-Limiter counts attempts: memory:// per process, or redis://.
        "RATELIMIT_STORAGE_URI": env_str("RATELIMIT_STORAGE_URI", "memory://"),
        "REGISTRATION_OPEN": env_bool("REGISTRATION_OPEN", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # Reverse proxies in front of the app whose X-Forwarded-For, -Proto and
        # -Host headers are trusted; 0 trusts none. The sign-in rate limit counts
        # the client address these headers give.
        "PROXY_COUNT": env_int("PROXY_COUNT", 0),
        # Host names the app serves. A request for any other host gets HTTP 400.
        # None accepts any host, and URLs the app builds use the request's host.
        "TRUSTED_HOSTS": env_hosts("TRUSTED_HOSTS"),
        "WTF_CSRF_TIME_LIMIT": None,
        "LOG_LEVEL": env_str("LOG_LEVEL", "INFO"),
    }
