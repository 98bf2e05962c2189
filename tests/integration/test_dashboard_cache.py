"""Dashboard results are cached per scope and data version, and never go stale."""

from __future__ import annotations

import pytest

from dashboard import analytics
from dashboard.cache import cache, data_version
from models import MonthlyRollup, db
from tests.support.fetch import run_task

CSV = {"kind": "csv", "path": "cases/csv_duplicate_rows.csv"}
MORE = {"kind": "csv", "path": "cases/csv_whitespace_case.csv"}


@pytest.fixture(params=["simple", "redis"])
def cached_app(request, app):
    """The app with the dashboard cache on: in process, then in Redis."""
    if request.param == "simple":
        settings = {"CACHE_TYPE": "SimpleCache"}
    else:
        url = request.getfixturevalue("redis_url")
        settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url}
    cache.init_app(app, config={**settings, "CACHE_KEY_PREFIX": "forecourt-test:"})
    with app.app_context():
        cache.clear()
    return app


def test_summary_served_from_cache_until_new_batch(cached_app):
    run_task(cached_app, CSV)
    with cached_app.app_context():
        owner = db.session.scalar(db.select(MonthlyRollup.owner_id))
        query = analytics.SalesQuery(owner_id=owner)
        first = analytics.summary(query)
        version = data_version(owner)
        # A change made behind the loader's back is not seen: the result is cached.
        groups = db.session.scalar(
            db.select(db.func.count()).select_from(MonthlyRollup)
        )
        db.session.execute(db.update(MonthlyRollup).values(sales_count=999))
        db.session.commit()
        assert analytics.summary(query) == first

    run_task(cached_app, MORE)
    with cached_app.app_context():
        assert data_version(owner) == version + 1
        refreshed = analytics.summary(query)
    assert refreshed != first
    assert refreshed["total_sales"] == 999 * groups + 6


def test_cache_keys_separate_owners_and_filters(cached_app):
    run_task(cached_app, CSV, owner="ana")
    run_task(cached_app, MORE, owner="ben")
    with cached_app.app_context():
        owners = sorted(
            db.session.scalars(db.select(MonthlyRollup.owner_id).distinct())
        )
        ana, ben = owners
        ana_total = analytics.summary(analytics.SalesQuery(owner_id=ana))["total_sales"]
        ben_total = analytics.summary(analytics.SalesQuery(owner_id=ben))["total_sales"]
        everyone = analytics.summary(analytics.SalesQuery(owner_id=None))["total_sales"]
        lexus = analytics.summary(
            analytics.SalesQuery(owner_id=ana, companies=("Lexus",))
        )["total_sales"]
        bmw_for_ana = analytics.summary(
            analytics.SalesQuery(owner_id=ana, companies=("BMW",))
        )["total_sales"]
    assert (ana_total, ben_total, everyone) == (3, 6, 9)
    assert lexus == 3
    assert bmw_for_ana == 0
