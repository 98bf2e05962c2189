"""Plotly figures built from the aggregates in ``dashboard.analytics``.

Pure functions: they take the lists that ``analytics.summary`` and
``analytics.heatmap`` return and build figures, with no Dash and no database, so
the page callbacks stay thin and these can be tested on plain data. Every builder
returns ``empty_figure`` for empty input, so an empty selection draws a message
instead of blank axes.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio


def _slim_template(name: str) -> go.layout.Template:
    """Keep only the 2D layout part of a Plotly template.

    The full "plotly_white" template is about 7 KB of JSON, mostly defaults for
    trace types and 3D scenes these charts never draw, and it would travel with
    every figure on every refresh.
    """
    layout = pio.templates[name].layout
    return go.layout.Template(
        layout={
            "paper_bgcolor": layout.paper_bgcolor,
            "plot_bgcolor": layout.plot_bgcolor,
            "colorway": layout.colorway,
            "hovermode": layout.hovermode,
            "xaxis": layout.xaxis,
            "yaxis": layout.yaxis,
        }
    )


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


def _style(figure: go.Figure, *, height: int = 360) -> go.Figure:
    figure.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 16, "r": 16, "t": 16, "b": 16},
        font={"family": FONT_FAMILY, "color": TEXT_COLOR, "size": 13},
        hoverlabel={"bgcolor": "white", "font_size": 13, "font_family": FONT_FAMILY},
        # Thousands separated by commas, decimals by a dot: 1,234.50.
        separators=".,",
        showlegend=False,
    )
    return figure


def _money(value: str | float | None) -> float:
    # Plotly formats floats; the exact decimal string stays in the summary.
    return float(value) if value not in (None, "") else 0.0


def empty_figure(message: str = NO_DATA, *, height: int = 360) -> go.Figure:
    """Build a figure with no axes and ``message`` in the middle."""
    figure = go.Figure()
    figure.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": MUTED_COLOR},
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _style(figure, height=height)


def _month_range(first: str, last: str) -> list[str]:
    """List every "YYYY-MM" from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def volume_figure(by_month: Sequence[dict[str, Any]], currency: str = "$") -> go.Figure:
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
    figure = go.Figure(
        go.Scatter(
            x=[f"{month}-01" for month in months],
            y=sales,
            customdata=revenue,
            mode="lines+markers",
            connectgaps=False,
            # Markers on the first and last month would be cut in half otherwise.
            cliponaxis=False,
            line={"color": PRIMARY, "width": 2.5},
            marker={"size": 6},
            hovertemplate=(
                "<b>%{x|%B %Y}</b><br>%{y:,} sales<br>"
                f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
            ),
        )
    )
    figure.update_xaxes(type="date", tickformat="%b %Y", showgrid=False)
    figure.update_yaxes(title_text="Sales", rangemode="tozero", tickformat=",d")
    return _style(figure)


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
) -> go.Figure:
    """Build a horizontal bar chart of sales by company, largest on top.

    Companies past the first ``top`` are summed into one "Other" bar.
    """
    if not by_company:
        return empty_figure(height=240)

    rows = _top_companies(by_company, top)
    # Plotly draws the first category at the bottom, so reverse for largest on top.
    rows.reverse()
    colors = [OTHER_COLOR if row.get("other") else PRIMARY for row in rows]
    figure = go.Figure(
        go.Bar(
            x=[row["sales"] for row in rows],
            y=[row["company"] for row in rows],
            customdata=[_money(row["revenue"]) for row in rows],
            orientation="h",
            marker={"color": colors},
            # The Other bar can dwarf the rest, so each bar carries its count.
            texttemplate="%{x:,}",
            textposition="outside",
            cliponaxis=False,
            hovertemplate=(
                "<b>%{y}</b><br>%{x:,} sales<br>"
                f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
            ),
        )
    )
    figure.update_xaxes(title_text="Sales", tickformat=",d")
    figure.update_yaxes(type="category", automargin=True)
    height = max(360, 28 * len(rows) + 60)
    _style(figure, height=height)
    # Room on the right for the count beside the longest bar.
    figure.update_layout(margin_r=64)
    return figure


def source_figure(
    by_source: Sequence[dict[str, Any]], currency: str = "$"
) -> go.Figure:
    """Build a donut chart of sales per source kind."""
    if not by_source:
        return empty_figure()

    kinds = [row["source"] for row in by_source]
    figure = go.Figure(
        go.Pie(
            labels=[SOURCE_LABELS.get(kind, kind) for kind in kinds],
            values=[row["sales"] for row in by_source],
            customdata=[_money(row["revenue"]) for row in by_source],
            marker={"colors": [SOURCE_COLORS.get(kind, OTHER_COLOR) for kind in kinds]},
            hole=0.55,
            sort=False,
            textinfo="percent",
            hovertemplate=(
                "<b>%{label}</b><br>%{value:,} sales (%{percent})<br>"
                f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
            ),
        )
    )
    _style(figure)
    figure.update_layout(
        showlegend=True,
        legend={"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.05},
    )
    return figure


def heatmap_figure(cells: Sequence[dict[str, Any]], currency: str = "$") -> go.Figure:
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

    figure = go.Figure(
        go.Heatmap(
            z=sales,
            x=MONTH_NAMES,
            y=[str(year) for year in years],
            customdata=revenue,
            colorscale="Blues",
            xgap=3,
            ygap=3,
            hoverongaps=False,
            texttemplate="%{z:,}",
            textfont={"size": 12},
            colorbar={"title": {"text": "Sales"}, "tickformat": ",d", "thickness": 12},
            hovertemplate=(
                "<b>%{x} %{y}</b><br>%{z:,} sales<br>"
                f"Revenue {currency}%{{customdata:,.2f}}<extra></extra>"
            ),
        )
    )
    figure.update_xaxes(type="category", side="top", showgrid=False)
    figure.update_yaxes(type="category", autorange="reversed", showgrid=False)
    height = max(220, 46 * len(years) + 90)
    return _style(figure, height=height)
