"""A cache of dashboard results, keyed by the data version of the user's scope.

Every batch that adds sales raises its owner's ``dataset_versions`` counter in
the same transaction, and each cache key carries the counter, so an entry is
never served for data that changed under it and needs no explicit invalidation.
Redis stores the entries when ``FORECOURT_CACHE_URL`` is set, so every web process
shares them; otherwise each process keeps its own in memory.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, has_app_context
from flask_caching import Cache
from sqlalchemy import func

from models import DatasetVersion, db

log = logging.getLogger(__name__)

cache = Cache()
T = TypeVar("T")
# Entries outlive no data change, so the timeout only bounds memory use.
ENTRY_SECONDS = 3600


def init_cache(app: Flask) -> None:
    url = app.config["CACHE_URL"]
    settings = {
        "CACHE_DEFAULT_TIMEOUT": ENTRY_SECONDS,
        "CACHE_KEY_PREFIX": "forecourt:",
    }
    if app.config.get("CACHE_TYPE"):
        settings["CACHE_TYPE"] = app.config["CACHE_TYPE"]
    elif url:
        settings.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url)
    else:
        settings.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=5000)
    cache.init_app(app, config=settings)


def data_version(owner_id: int | None) -> int:
    """Return the data version of one owner, or of all data for ``None``.

    Within one request the first result is reused, so a refresh that reads
    several cached results asks the database once.
    """
    versions = g.setdefault("forecourt_data_versions", {}) if has_app_context() else {}
    if owner_id not in versions:
        versions[owner_id] = _read_version(owner_id)
    return versions[owner_id]


def _read_version(owner_id: int | None) -> int:
    if owner_id is None:
        statement = db.select(func.coalesce(func.sum(DatasetVersion.version), 0))
    else:
        statement = db.select(DatasetVersion.version).where(
            DatasetVersion.owner_id == owner_id
        )
    return int(db.session.scalar(statement) or 0)


def remember(name: str, owner_id: int | None, args: Any, compute: Callable[[], T]) -> T:
    """Return the cached result of ``compute`` for these arguments, computing it once.

    ``args`` must have a stable ``repr`` (dataclasses and tuples do).
    """
    digest = hashlib.blake2b(repr(args).encode(), digest_size=12).hexdigest()
    scope = "all" if owner_id is None else str(owner_id)
    key = f"{name}:{scope}:{data_version(owner_id)}:{digest}"
    try:
        value = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not break the page
        log.warning("cache read failed for %s", key, exc_info=True)
        value = None
    if value is not None:
        return value
    value = compute()
    try:
        cache.set(key, value)
    except Exception:  # noqa: BLE001
        log.warning("cache write failed for %s", key, exc_info=True)
    return value
