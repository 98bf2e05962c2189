"""Build the JSON bodies that the browser POSTs to ``/_dash-update-component``.

The callbacks are found in ``/_dash-dependencies`` by their outputs, so the
bodies match what the analytics page registers. Both the Flask test client and
the HTTP load clients use these bodies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

UPDATE_PATH = "/_dash-update-component"
DEPENDENCIES_PATH = "/_dash-dependencies"
# An output of the analytics refresh callback and of the model-options callback.
REFRESH_OUTPUT = "analytics-total-sales.children"
MODEL_OPTIONS_OUTPUT = "analytics-model.options"
# The filter a component id stands for is the part after this prefix.
FILTER_PREFIX = "analytics-"
FILTER_NAMES = ("year", "month", "company", "model", "source")

# Companies that the synthetic data always contains, for varied load filters.
LOAD_COMPANIES = (
    "Toyota",
    "Volkswagen",
    "Ford",
    "Honda",
    "BMW",
    "Mercedes-Benz",
    "Audi",
    "Hyundai",
    "Kia",
    "Nissan",
    "Peugeot",
    "Renault",
)
LOAD_YEARS = tuple(range(2015, 2025))


class CallbackNotFound(LookupError):
    """The Dash app registers no callback with the expected output."""


@dataclass(frozen=True)
class Filters:
    """Dropdown values of the analytics page, where an empty tuple means all."""

    year: tuple[int, ...] = ()
    month: tuple[int, ...] = ()
    company: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    source: tuple[str, ...] = ()


def find_callback(dependencies: list[dict[str, Any]], output: str) -> dict[str, Any]:
    """Return the callback whose output list contains ``output``."""
    for dependency in dependencies:
        names = {
            f"{spec['id']}.{spec['property']}"
            for spec in _outputs(dependency["output"])
        }
        if output in names:
            return dependency
    raise CallbackNotFound(
        f"no Dash callback has the output {output!r}; check that the analytics "
        "page is registered and its component ids are unchanged"
    )


def _outputs(output: str) -> list[dict[str, str]]:
    """Split Dash's ``..id.prop...id.prop..`` string into output specs."""
    specs = []
    for part in output.strip(".").split("..."):
        component_id, _, prop = part.rpartition(".")
        specs.append({"id": component_id, "property": prop.split("@")[0]})
    return specs


def _filter_value(component_id: str, filters: Filters) -> list:
    name = component_id.removeprefix(FILTER_PREFIX)
    if name not in FILTER_NAMES:
        raise CallbackNotFound(
            f"the analytics callback has an unknown input {component_id!r}; "
            f"expected ids {FILTER_PREFIX}<{'|'.join(FILTER_NAMES)}>"
        )
    return list(getattr(filters, name))


def update_body(
    callback: dict[str, Any], filters: Filters, changed: str | None
) -> dict[str, Any]:
    """Return the request body for ``callback`` with inputs and state from
    ``filters``. ``changed`` is the filter name the user just changed."""
    body = {
        "output": callback["output"],
        "outputs": _outputs(callback["output"]),
        "inputs": [
            {**item, "value": _filter_value(item["id"], filters)}
            for item in callback["inputs"]
        ],
        "state": [
            {**item, "value": _filter_value(item["id"], filters)}
            for item in callback["state"]
        ],
        "changedPropIds": [],
    }
    if changed:
        body["changedPropIds"] = [f"{FILTER_PREFIX}{changed}.value"]
    return body


def random_filters(rng: random.Random) -> tuple[Filters, str]:
    """Pick filters as an analyst clicking around would, and the changed one."""
    years = tuple(sorted(rng.sample(LOAD_YEARS, rng.choice((0, 1, 1, 2)))))
    companies = tuple(rng.sample(LOAD_COMPANIES, rng.choice((0, 1, 2, 3))))
    months = ()
    if rng.random() < 0.3:
        months = tuple(sorted(rng.sample(range(1, 13), rng.randint(1, 3))))
    changed = rng.choice(("year", "company", "month"))
    return Filters(year=years, month=months, company=companies), changed
