"""Percentiles of timing samples."""

from __future__ import annotations

import math


def percentile(values: list[float], share: float) -> float:
    """Return the ``share`` percentile (0 to 100) with linear interpolation,
    as numpy's default method computes it."""
    if not values:
        raise ValueError("percentile of no values; measure at least one sample")
    ordered = sorted(values)
    position = (len(ordered) - 1) * share / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return ordered[lower]
    weight = position - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight
