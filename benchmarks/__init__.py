"""Reproducible performance runs for Forecourt, with results in docs/benchmarks.md.

Run everything with ``python -m benchmarks.run_all`` (or ``make bench``), or a
smoke run on 100,000 rows with ``--quick``. Each section module (``ingest``,
``refresh``, ``load``) returns tables that ``report`` prints and writes into the
doc.
"""
