"""Plotly figures built from the aggregates in ``dashboard.analytics``.

Pure functions: they take the lists that ``analytics.summary`` and
``analytics.heatmap`` return and build figures, with no Dash and no database, so
the page callbacks stay thin and these can be tested on plain data. Every builder
returns ``empty_figure`` for empty input, so an empty selection draws a message
instead of blank axes.

Figures are plain dicts in Plotly's JSON schema, not ``plotly.graph_objects``
objects: building the four figures of one refresh through graph objects costs
about 30 ms of validation on this project's 2-core benchmark machine, and a dict
costs well under 1 ms. The tests pass every figure through ``go.Figure`` so the
schema is still checked.
"""

from __future__ import annotations

import calendar
import html
from collections.abc import Sequence
from typing import Any

import plotly.io as pio

Figure = dict[str, Any]


def _slim_template(name: str) -> dict[str, Any]:
    """Keep only the 2D layout part of a Plotly template, as a dict.

    The full "plotly_white" template is about 7 KB of JSON, mostly defaults for
    trace types and 3D scenes these charts never draw, and it would travel with
    every figure on every refresh.
    """
    layout = pio.templates[name].layout.to_plotly_json()
    keep = ("paper_bgcolor", "plot_bgcolor", "colorway", "hovermode", "xaxis", "yaxis")
    return {"layout": {key: layout[key] for key in keep if key in layout}}


TEMPLATE = _slim_template("plotly_white")
FONT_FAMILY = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
)
TEXT_COLOR = "#212529"
MUTED_COLOR = "#6c757d"
PRIMARY = "#0d6efd"
# Source kinds in a fixed order and colour, so the pie reads the same every time.
SOURCE_LABELS = {"csv": "CSV file", "json": "JSON file", "api": "HTTP API"}
SOURCE_COLORS = {"csv": "#0d6efd", "json": "#20c997", "api": "#fd7e14"}
OTHER_COLOR = "#adb5bd"
TOP_COMPANIES = 20
MONTH_NAMES = [calendar.month_abbr[number] for number in range(1, 13)]
NO_DATA = "No sales match these filters."


def _figure(trace: dict[str, Any] | None, *, height: int = 360, **layout) -> Figure:
    """Wrap one trace (or none) in a figure with the shared style and ``layout``."""
    base = {
        "template": TEMPLATE,
        "height": height,
        "margin": {"l": 16, "r": 16, "t": 16, "b": 16},
        "font": {"family": FONT_FAMILY, "color": TEXT_COLOR, "size": 13},
        "hoverlabel": {
            "bgcolor": "white",
            "font": {"size": 13, "family": FONT_FAMILY},
        },
        # Thousands separated by commas, decimals by a dot: 1,234.50.
        "separators": ".,",
        "showlegend": False,
    }
    base.update(layout)
    return {"data": [trace] if trace else [], "layout": base}


def _label(text: Any) -> str:
    """Escape a label that comes from data for Plotly's text rendering.

    Plotly reads a subset of HTML in every label, so a company named
    ``<a href="...">X</a>`` would become a link. Escaping ``<``, ``>`` and
    ``&`` makes Plotly show the name as written.
    """
    return html.escape(str(text), quote=False)


def _money(value: str | float | None) -> float:
    # Plotly formats floats; the exact decimal string stays in the summary.
    return float(value) if value not in (None, "") else 0.0


def empty_figure(message: str = NO_DATA, *, height: int = 360) -> Figure:
    """Build a figure with no axes and ``message`` in the middle."""
    note = {
        "text": message,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "font": {"size": 15, "color": MUTED_COLOR},
    }
    return _figure(
        None,
        height=height,
        annotations=[note],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )


def _month_range(first: str, last: str) -> list[str]:
    """List every "YYYY-MM" from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def volume_figure(by_month: Sequence[dict[str, Any]], currency: str = "$") -> Figure:
    """Build a line chart of sales per month from ``summary()["by_month"]``.

    Months without sales between the first and the last are gaps in the line,
    so a year without data is not drawn as a straight slope across it.
    """
    if not by_month:
        return empty_figure()

    rows = {row["month"]: row for row in by_month}
    months = _month_range(min(rows), max(rows))
    sales = [rows[month]["sales"] if month in rows else None for month in months]
    revenue = [
        _money(rows[month]["revenue"]) if month in rows else None for month in months
    ]
    trace = {
        "type": "scatter",
        "x": [f"{month}-01" for month in months],
        "y": sales,
        "customdata": revenue,
        "mode": "lines+markers",
        "connectgaps": False,
        # Markers on the first and last month would be cut in half otherwise.
        "cliponaxis": False,
        "line": {"color": PRIMARY, "width": 2.5},
        "marker": {"size": 6},
        "hovertemplate": (
            "<b>%{x|%B %Y}</b><br>%{y:,} sales<br>"
            f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
        ),
    }
    return _figure(
        trace,
        xaxis={"type": "date", "tickformat": "%b %Y", "showgrid": False},
        yaxis={"title": {"text": "Sales"}, "rangemode": "tozero", "tickformat": ",d"},
    )


def _top_companies(
    by_company: Sequence[dict[str, Any]], top: int
) -> list[dict[str, Any]]:
    """Keep the ``top`` companies by sales and fold the rest into one bar."""
    ranked = sorted(by_company, key=lambda row: (-row["sales"], row["company"]))
    if len(ranked) <= top:
        return list(ranked)
    rest = ranked[top:]
    other = {
        "company": f"Other ({len(rest)} companies)",
        "sales": sum(row["sales"] for row in rest),
        "revenue": sum(_money(row["revenue"]) for row in rest),
        "other": True,
    }
    return [*ranked[:top], other]


def company_figure(
    by_company: Sequence[dict[str, Any]],
    currency: str = "$",
    top: int = TOP_COMPANIES,
) -> Figure:
    """Build a horizontal bar chart of sales by company, largest on top.

    Companies past the first ``top`` are summed into one "Other" bar.
    """
    if not by_company:
        return empty_figure(height=240)

    rows = _top_companies(by_company, top)
    # Plotly draws the first category at the bottom, so reverse for largest on top.
    rows.reverse()
    colors = [OTHER_COLOR if row.get("other") else PRIMARY for row in rows]
    trace = {
        "type": "bar",
        "x": [row["sales"] for row in rows],
        "y": [_label(row["company"]) for row in rows],
        "customdata": [_money(row["revenue"]) for row in rows],
        "orientation": "h",
        "marker": {"color": colors},
        # The Other bar can dwarf the rest, so each bar carries its count.
        "texttemplate": "%{x:,}",
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": (
            "<b>%{y}</b><br>%{x:,} sales<br>"
            f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
        ),
    }
    return _figure(
        trace,
        height=max(360, 28 * len(rows) + 60),
        xaxis={"title": {"text": "Sales"}, "tickformat": ",d"},
        yaxis={"type": "category", "automargin": True},
        # Room on the right for the count beside the longest bar.
        margin={"l": 16, "r": 64, "t": 16, "b": 16},
    )


def source_figure(by_source: Sequence[dict[str, Any]], currency: str = "$") -> Figure:
    """Build a donut chart of sales per source kind."""
    if not by_source:
        return empty_figure()

    kinds = [row["source"] for row in by_source]
    trace = {
        "type": "pie",
        "labels": [_label(SOURCE_LABELS.get(kind, kind)) for kind in kinds],
        "values": [row["sales"] for row in by_source],
        "customdata": [_money(row["revenue"]) for row in by_source],
        "marker": {"colors": [SOURCE_COLORS.get(kind, OTHER_COLOR) for kind in kinds]},
        "hole": 0.55,
        "sort": False,
        "textinfo": "percent",
        "hovertemplate": (
            "<b>%{label}</b><br>%{value:,} sales (%{percent})<br>"
            f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
        ),
    }
    return _figure(
        trace,
        showlegend=True,
        legend={"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.05},
    )


def heatmap_figure(cells: Sequence[dict[str, Any]], currency: str = "$") -> Figure:
    """Build a month-by-year heatmap of sales counts from ``analytics.heatmap``.

    Months without sales are left blank rather than drawn as zero.
    """
    if not cells:
        return empty_figure(height=240)

    years = sorted({cell["year"] for cell in cells})
    row_of = {year: index for index, year in enumerate(years)}
    sales: list[list[int | None]] = [[None] * 12 for _ in years]
    revenue: list[list[float | None]] = [[None] * 12 for _ in years]
    for cell in cells:
        row, column = row_of[cell["year"]], cell["month"] - 1
        sales[row][column] = cell["sales"]
        revenue[row][column] = _money(cell["revenue"])

    trace = {
        "type": "heatmap",
        "z": sales,
        "x": MONTH_NAMES,
        "y": [str(year) for year in years],
        "customdata": revenue,
        "colorscale": "Blues",
        "xgap": 3,
        "ygap": 3,
        "hoverongaps": False,
        "texttemplate": "%{z:,}",
        "textfont": {"size": 12},
        "colorbar": {"title": {"text": "Sales"}, "tickformat": ",d", "thickness": 12},
        "hovertemplate": (
            "<b>%{x} %{y}</b><br>%{z:,} sales<br>"
            f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
        ),
    }
    return _figure(
        trace,
        height=max(220, 46 * len(years) + 90),
        xaxis={"type": "category", "side": "top", "showgrid": False},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False},
    )
