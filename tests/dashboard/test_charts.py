"""Figure builders: trace types and data from small aggregates, empty states."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from dashboard import charts as chart_builders


class ValidatedCharts:
    """The chart builders, with each figure dict checked by ``go.Figure``.

    ``go.Figure`` raises on any property that Plotly's schema does not know, so
    every test here also checks that the dicts the page sends are valid.
    """

    def __getattr__(self, name: str):
        value = getattr(chart_builders, name)
        if name.endswith("_figure"):
            return lambda *args, **kwargs: go.Figure(value(*args, **kwargs))
        return value


charts = ValidatedCharts()

BY_MONTH = [
    {"month": "2023-01", "sales": 2, "revenue": "45000.50"},
    {"month": "2023-03", "sales": 1, "revenue": "23950.50"},
]
BY_COMPANY = [
    {"company": "Toyota", "sales": 3, "revenue": "69000.50"},
    {"company": "BMW", "sales": 1, "revenue": "60000.99"},
]
BY_SOURCE = [
    {"source": "api", "sales": 2, "revenue": "84000.99"},
    {"source": "csv", "sales": 1, "revenue": "20000.50"},
]
CELLS = [
    {"year": 2022, "month": 12, "sales": 1, "revenue": "60000.99"},
    {"year": 2023, "month": 1, "sales": 2, "revenue": "45000.50"},
]


def annotation_text(figure: go.Figure) -> str:
    return figure.layout.annotations[0].text


def test_volume_figure_line_per_month():
    figure = charts.volume_figure(BY_MONTH)
    trace = figure.data[0]
    assert len(figure.data) == 1
    assert isinstance(trace, go.Scatter)
    assert trace.mode == "lines+markers"
    assert list(trace.x) == ["2023-01-01", "2023-02-01", "2023-03-01"]
    assert list(trace.y) == [2, None, 1]
    assert list(trace.customdata) == [45000.50, None, 23950.50]


def test_volume_figure_gap_across_years():
    months = [
        {"month": "2022-11", "sales": 4, "revenue": "4.00"},
        {"month": "2023-02", "sales": 5, "revenue": "5.00"},
    ]
    trace = charts.volume_figure(months).data[0]
    assert list(trace.x) == ["2022-11-01", "2022-12-01", "2023-01-01", "2023-02-01"]
    assert list(trace.y) == [4, None, None, 5]
    assert trace.connectgaps is False


def test_volume_figure_hover_thousands_and_currency():
    trace = charts.volume_figure(BY_MONTH, currency="€").data[0]
    assert "%{y:,}" in trace.hovertemplate
    assert "€%{customdata:,.2f}" in trace.hovertemplate


def test_company_figure_bars_largest_on_top():
    trace = charts.company_figure(BY_COMPANY).data[0]
    assert isinstance(trace, go.Bar)
    assert trace.orientation == "h"
    # Plotly draws the last category on top.
    assert list(trace.y) == ["BMW", "Toyota"]
    assert list(trace.x) == [1, 3]


def test_company_figure_folds_rest_into_other():
    companies = [
        {"company": f"Make {index:02d}", "sales": 100 - index, "revenue": "10.00"}
        for index in range(25)
    ]
    trace = charts.company_figure(companies, top=20).data[0]
    names = list(trace.y)
    assert len(names) == 21
    assert names[0] == "Other (5 companies)"
    assert names[-1] == "Make 00"
    # Companies 20..24 have 80, 79, 78, 77 and 76 sales.
    assert trace.x[0] == 390
    assert trace.customdata[0] == pytest.approx(50.0)


def test_company_figure_keeps_twenty():
    companies = [
        {"company": f"Make {index:02d}", "sales": 50 - index, "revenue": "1.00"}
        for index in range(20)
    ]
    names = list(charts.company_figure(companies).data[0].y)
    assert len(names) == 20
    assert not any(name.startswith("Other") for name in names)


def test_source_figure_pie():
    trace = charts.source_figure(BY_SOURCE).data[0]
    assert isinstance(trace, go.Pie)
    assert list(trace.labels) == ["HTTP API", "CSV file"]
    assert list(trace.values) == [2, 1]
    assert trace.hole > 0


def test_heatmap_figure_month_by_year():
    trace = charts.heatmap_figure(CELLS).data[0]
    assert isinstance(trace, go.Heatmap)
    assert list(trace.x) == charts.MONTH_NAMES
    assert list(trace.y) == ["2022", "2023"]
    z = [list(row) for row in trace.z]
    assert z[0][11] == 1
    assert z[1][0] == 2
    # Months without sales stay blank, not zero.
    assert z[0][0] is None
    assert z[1][11] is None


@pytest.mark.parametrize(
    "builder",
    [
        charts.volume_figure,
        charts.company_figure,
        charts.source_figure,
        charts.heatmap_figure,
    ],
)
def test_builders_empty_input(builder):
    figure = builder([])
    assert len(figure.data) == 0
    assert annotation_text(figure) == charts.NO_DATA
    assert figure.layout.xaxis.visible is False


def test_empty_figure_message():
    figure = charts.empty_figure("Nothing yet.")
    assert annotation_text(figure) == "Nothing yet."
    assert len(figure.data) == 0


def test_figures_share_template():
    figures = [
        charts.volume_figure(BY_MONTH),
        charts.company_figure(BY_COMPANY),
        charts.source_figure(BY_SOURCE),
        charts.heatmap_figure(CELLS),
        charts.empty_figure(),
    ]
    for figure in figures:
        assert figure.layout.template.layout.paper_bgcolor == "white"
        assert figure.layout.separators == ".,"
        assert figure.layout.margin.t == 16


def test_company_figure_escapes_html_in_names():
    link = '<a href="https://evil.example/">Kia</a>'
    companies = [
        {"company": link, "sales": 3, "revenue": "3.00"},
        {"company": "Rolls & Royce <b>", "sales": 2, "revenue": "2.00"},
        {"company": "Toyota", "sales": 1, "revenue": "1.00"},
    ]

    trace = charts.company_figure(companies).data[0]

    assert list(trace.y) == [
        "Toyota",
        "Rolls &amp; Royce &lt;b&gt;",
        '&lt;a href="https://evil.example/"&gt;Kia&lt;/a&gt;',
    ]
    assert all("<" not in name for name in trace.y)
    assert trace.hovertemplate.startswith("<b>%{y}</b>")


def test_source_figure_escapes_unknown_kind():
    sources = [{"source": "<i>csv</i>", "sales": 1, "revenue": "1.00"}]

    trace = charts.source_figure(sources).data[0]

    assert list(trace.labels) == ["&lt;i&gt;csv&lt;/i&gt;"]
