"""Price parsing: exact decimals, separators, currency signs and limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sources.prices import PriceParser, PriceProblem


@pytest.mark.parametrize(
    ("value", "decimal", "thousands", "expected"),
    [
        ("28000", ".", None, "28000.00"),
        ("$28,000", ".", None, "28000.00"),
        ("28000.50", ".", None, "28000.50"),
        ("1,234,567.89", ".", None, "1234567.89"),
        ("0.1e6", ".", None, "100000.00"),
        ("  21500 ", ".", None, "21500.00"),
        ("12 500", ".", None, "12500.00"),
        ("\u00a012\u00a0500\u00a0", ".", None, "12500.00"),
        ("28000 USD", ".", None, "28000.00"),
        ("US$ 5", ".", None, "5.00"),
        ("36990.105", ".", None, "36990.11"),
        ("€ 1.234,56", ",", ".", "1234.56"),
        ("23.450,50", ",", ".", "23450.50"),
        ("17999,9", ",", ".", "17999.90"),
        ("17999,9", ",", None, "17999.90"),
        ("1 234,5", ",", None, "1234.50"),
        ("1'234.50", ".", "'", "1234.50"),
        (28000, ".", None, "28000.00"),
        (Decimal("36990.10"), ".", None, "36990.10"),
        (Decimal("1E+5"), ".", None, "100000.00"),
        (Decimal("999999999999.99"), ".", None, "999999999999.99"),
    ],
)
def test_price_parses(value, decimal, thousands, expected):
    price = PriceParser(decimal, thousands).parse(value)

    assert price == Decimal(expected)
    assert str(price) == expected


@pytest.mark.parametrize(
    ("value", "decimal", "thousands", "reason"),
    [
        (
            "23.450,50",
            ",",
            None,
            "price '23.450,50' is not a number (decimal mark ',')",
        ),
        ("17999,9", ".", None, "price '17999,9' is not a number (decimal mark '.')"),
        ("28,000", ".", "", "price '28,000' is not a number (decimal mark '.')"),
        ("1,2,3", ".", None, "price '1,2,3' is not a number (decimal mark '.')"),
        ("abc", ".", None, "price 'abc' is not a number (decimal mark '.')"),
        ("1_000", ".", None, "price '1_000' is not a number (decimal mark '.')"),
        ("NaN", ".", None, "price 'NaN' is not a number (decimal mark '.')"),
        ("", ".", None, "price is empty"),
        ("   ", ".", None, "price is empty"),
        ("0", ".", None, "price '0' is not above 0"),
        ("-5", ".", None, "price '-5' is not above 0"),
        ("-$5", ".", None, "price '-$5' is not above 0"),
        ("0.001", ".", None, "price '0.001' is not above 0 when rounded to cents"),
        (0, ".", None, "price 0 is not above 0"),
        (True, ".", None, "price True is not a number"),
        ([1], ".", None, "price [1] is not a number"),
        (Decimal("NaN"), ".", None, "price NaN is not a number"),
    ],
)
def test_price_rejects(value, decimal, thousands, reason):
    with pytest.raises(PriceProblem) as caught:
        PriceParser(decimal, thousands).parse(value)

    assert str(caught.value) == reason


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+400"),
        Decimal("Infinity"),
        float("inf"),
        "1000000000000",
        Decimal("999999999999.995"),
    ],
)
def test_price_out_of_range(value):
    with pytest.raises(PriceProblem) as caught:
        PriceParser().parse(value)

    assert str(caught.value).startswith("price out of range")
