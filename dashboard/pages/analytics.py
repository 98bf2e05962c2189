"""Sales analytics: filters, totals, four charts and a CSV export link.

Every filter change runs one callback, which reads the monthly rollups through
``dashboard.analytics`` and returns the totals, the four figures and the export
link together, so one refresh is one round trip with a few kilobytes of data.
"""

from __future__ import annotations

import calendar
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask_login import current_user

from dashboard import analytics, charts
from dashboard.api import (
    FIELD_LENGTH_LIMIT,
    MAX_FILTER_VALUES,
    SOURCE_KINDS,
    YEAR_RANGE,
)
from dashboard.components import SOURCE_KIND_LABELS, icon, page_header

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/analytics", title="Analytics · Forecourt", order=4)

# NOTE: the rollups do not keep the currency, so money is labelled with one
# symbol. Sources in other currencies are summed with it as they are.
CURRENCY = "$"
EXPORT_URL = "/api/v1/sales/export"

YEAR_ID = "analytics-year"
MONTH_ID = "analytics-month"
COMPANY_ID = "analytics-company"
MODEL_ID = "analytics-model"
SOURCE_ID = "analytics-source"
CLEAR_ID = "analytics-clear"
FILTER_NOTE_ID = "analytics-filter-note"
EXPORT_ID = "analytics-export"
TOTAL_SALES_ID = "analytics-total-sales"
TOTAL_REVENUE_ID = "analytics-total-revenue"
AVERAGE_PRICE_ID = "analytics-average-price"
COMPANY_COUNT_ID = "analytics-company-count"
VOLUME_GRAPH_ID = "analytics-volume"
COMPANY_GRAPH_ID = "analytics-companies"
SOURCE_GRAPH_ID = "analytics-sources"
HEATMAP_GRAPH_ID = "analytics-heatmap"
FILTER_IDS = (YEAR_ID, MONTH_ID, COMPANY_ID, MODEL_ID, SOURCE_ID)
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def _dropdown(component_id: str, label: str, options: list, placeholder: str):
    return dbc.Col(
        [
            dbc.Label(label, html_for=component_id, className="small fw-semibold"),
            dcc.Dropdown(
                id=component_id,
                options=options,
                multi=True,
                placeholder=placeholder,
                className="filter-dropdown",
            ),
        ],
        xs=12,
        sm=6,
        lg=True,
    )


def _filters_card(options: dict) -> dbc.Card:
    months = [
        {"label": calendar.month_name[month], "value": month}
        for month in options["months"]
    ]
    sources = [
        {"label": SOURCE_KIND_LABELS.get(kind, kind), "value": kind}
        for kind in options["sources"]
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        _dropdown(YEAR_ID, "Year", options["years"], "All years"),
                        _dropdown(MONTH_ID, "Month", months, "All months"),
                        _dropdown(
                            COMPANY_ID, "Company", options["companies"], "All companies"
                        ),
                        _dropdown(MODEL_ID, "Model", options["models"], "All models"),
                        _dropdown(SOURCE_ID, "Source", sources, "All sources"),
                        dbc.Col(
                            dbc.Button(
                                [icon("bi-x-lg", "me-1"), "Clear"],
                                id=CLEAR_ID,
                                color="link",
                                className="text-decoration-none px-0",
                            ),
                            xs="auto",
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-3",
                ),
                html.Div(
                    id=FILTER_NOTE_ID, className="small text-warning-emphasis mt-2"
                ),
            ]
        ),
        className="shadow-sm mb-4 filters-card",
    )


def _total_card(label: str, component_id: str, icon_name: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [icon(icon_name, "me-2"), label],
                        className="text-body-secondary small",
                    ),
                    html.Div("—", id=component_id, className="fs-3 fw-semibold"),
                ]
            ),
            className="h-100 shadow-sm total-card",
        ),
        xs=6,
        lg=3,
    )


def _chart_card(title: str, subtitle: str, graph_id: str) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span(title, className="fw-semibold"),
                    html.Small(subtitle, className="ms-2 text-body-secondary"),
                ],
                className="bg-body",
            ),
            dbc.CardBody(
                dcc.Graph(
                    id=graph_id,
                    figure=charts.empty_figure("Loading…"),
                    config=GRAPH_CONFIG,
                ),
                className="p-2",
            ),
        ],
        className="h-100 shadow-sm",
    )


def _no_data_alert() -> dbc.Alert:
    return dbc.Alert(
        [
            icon("bi-info-circle-fill", "me-2"),
            "No sales are loaded yet. ",
            dcc.Link("Create a fetch task", href="/tasks/new", className="alert-link"),
            " to load records from a file or an API, then come back here.",
        ],
        color="info",
        className="mb-4",
    )


def layout(**_query: str) -> html.Div:
    owner_id = analytics.scope_owner(current_user)
    options = analytics.filter_options(owner_id)
    export = html.A(
        [icon("bi-download", "me-1"), "Export CSV"],
        id=EXPORT_ID,
        href=EXPORT_URL,
        className="btn btn-outline-primary",
        title="Download the sales that match the filters as a CSV file",
    )
    subtitle = (
        "Sales from every user's tasks."
        if owner_id is None
        else "Sales loaded by your fetch tasks."
    )
    return html.Div(
        [
            page_header("Sales analytics", subtitle, [export]),
            _filters_card(options),
            _no_data_alert() if not options["companies"] else None,
            dbc.Row(
                [
                    _total_card("Sales", TOTAL_SALES_ID, "bi-car-front"),
                    _total_card("Revenue", TOTAL_REVENUE_ID, "bi-cash-stack"),
                    _total_card("Average price", AVERAGE_PRICE_ID, "bi-tag"),
                    _total_card("Companies", COMPANY_COUNT_ID, "bi-buildings"),
                ],
                className="g-3 mb-4",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _chart_card("Sales volume", "sales per month", VOLUME_GRAPH_ID),
                        lg=8,
                    ),
                    dbc.Col(
                        _chart_card("Sources", "share of sales", SOURCE_GRAPH_ID),
                        lg=4,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Row(
                dbc.Col(
                    _chart_card(
                        "Monthly trends", "sales per month and year", HEATMAP_GRAPH_ID
                    )
                ),
                className="g-3 mb-3",
            ),
            dbc.Row(
                dbc.Col(
                    _chart_card(
                        "Sales by company",
                        f"top {charts.TOP_COMPANIES}, the rest summed as Other",
                        COMPANY_GRAPH_ID,
                    )
                ),
                className="g-3",
            ),
        ]
    )


def _listed(values: Any) -> list:
    """Return dropdown values as a list: None gives [] and one value a list of it."""
    if values is None:
        return []
    if isinstance(values, list | tuple):
        return list(values)
    return [values]


def _whole_number(value: Any, low: int, high: int) -> int | None:
    """Return ``value`` as an int within ``low``..``high``, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _numbers(values: Any, low: int, high: int) -> tuple[int, ...]:
    numbers = (_whole_number(value, low, high) for value in _listed(values))
    kept = dict.fromkeys(number for number in numbers if number is not None)
    return tuple(kept)[:MAX_FILTER_VALUES]


def _names(values: Any, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    names = (value.strip() for value in _listed(values) if isinstance(value, str))
    kept = dict.fromkeys(
        name
        for name in names
        if name
        and len(name) <= FIELD_LENGTH_LIMIT
        and (allowed is None or name in allowed)
    )
    return tuple(kept)[:MAX_FILTER_VALUES]


def build_query(
    owner_id: int | None,
    years: Any,
    months: Any,
    companies: Any,
    models: Any,
    sources: Any,
) -> analytics.SalesQuery:
    """Turn dropdown values into a ``SalesQuery`` that keeps only valid values.

    The values come from the browser, so they are checked as the REST API
    checks its parameters: years 1900 to 2200, months 1 to 12, names as strings
    of up to 120 characters, sources json, csv or api. Other values are dropped,
    and each filter keeps its first ``MAX_FILTER_VALUES`` values.
    """
    return analytics.SalesQuery(
        owner_id=owner_id,
        years=_numbers(years, *YEAR_RANGE),
        months=_numbers(months, 1, 12),
        companies=_names(companies),
        models=_names(models),
        sources=_names(sources, SOURCE_KINDS),
    )


def filter_note(**values: Any) -> str:
    """Say which filters have more values than are used, or return ''."""
    over = [
        name
        for name, chosen in values.items()
        if len(_listed(chosen)) > MAX_FILTER_VALUES
    ]
    if not over:
        return ""
    return (
        f"Only the first {MAX_FILTER_VALUES} values of each filter are used "
        f"({', '.join(over)}). Choose at most {MAX_FILTER_VALUES}."
    )


def export_href(query: analytics.SalesQuery) -> str:
    """Return the export URL with the filters as repeatable query parameters."""
    pairs = (
        [("year", year) for year in query.years]
        + [("month", month) for month in query.months]
        + [("company", name) for name in query.companies]
        + [("model", name) for name in query.models]
        + [("source", kind) for kind in query.sources]
    )
    return f"{EXPORT_URL}?{urlencode(pairs)}" if pairs else EXPORT_URL


def _money_text(value: str | None) -> str:
    if value is None:
        return "—"
    return f"{CURRENCY}{Decimal(value):,.2f}"


@dash.callback(
    Output(TOTAL_SALES_ID, "children"),
    Output(TOTAL_REVENUE_ID, "children"),
    Output(AVERAGE_PRICE_ID, "children"),
    Output(COMPANY_COUNT_ID, "children"),
    Output(VOLUME_GRAPH_ID, "figure"),
    Output(COMPANY_GRAPH_ID, "figure"),
    Output(SOURCE_GRAPH_ID, "figure"),
    Output(HEATMAP_GRAPH_ID, "figure"),
    Output(EXPORT_ID, "href"),
    Output(FILTER_NOTE_ID, "children"),
    *(Input(component_id, "value") for component_id in FILTER_IDS),
)
def refresh_analytics(years, months, companies, models, sources):
    """Compute the totals, the four figures and the export link for the filters."""
    query = build_query(
        analytics.scope_owner(current_user), years, months, companies, models, sources
    )
    note = filter_note(
        year=years, month=months, company=companies, model=models, source=sources
    )
    totals = analytics.summary(query)
    cells = analytics.heatmap(query)
    return (
        f"{totals['total_sales']:,}",
        _money_text(totals["revenue"]) if totals["total_sales"] else "—",
        _money_text(totals["average_price"]),
        f"{len(totals['by_company']):,}",
        charts.volume_figure(totals["by_month"], CURRENCY),
        charts.company_figure(totals["by_company"], CURRENCY),
        charts.source_figure(totals["by_source"], CURRENCY),
        charts.heatmap_figure(cells, CURRENCY),
        export_href(query),
        note,
    )


@dash.callback(
    Output(MODEL_ID, "options"),
    Output(MODEL_ID, "value"),
    Input(COMPANY_ID, "value"),
    State(MODEL_ID, "value"),
    prevent_initial_call=True,
)
def narrow_model_options(companies: list | None, chosen: list | None):
    """List only the models of the chosen companies, and drop chosen models
    that are no longer listed. The value is left alone when nothing is dropped,
    so a company change refreshes the charts once, not twice."""
    owner_id = analytics.scope_owner(current_user)
    models = analytics.filter_options(owner_id, _names(companies))["models"]
    listed = set(models)
    chosen = _listed(chosen)
    kept = [name for name in chosen if isinstance(name, str) and name in listed]
    value = dash.no_update if kept == chosen else kept
    return models, value


@dash.callback(
    *(
        Output(component_id, "value", allow_duplicate=True)
        for component_id in FILTER_IDS
    ),
    Input(CLEAR_ID, "n_clicks"),
    prevent_initial_call=True,
)
def clear_filters(_clicks: int | None):
    """Reset every filter to show all sales."""
    return ([],) * len(FILTER_IDS)
