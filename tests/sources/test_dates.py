"""Sale date parsing: formats, date order, offsets kept without moving the day."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from sources.dates import DateProblem, guess_date_order, parse_sale_time


@pytest.mark.parametrize(
    ("value", "date_order", "expected", "offset"),
    [
        ("2023-01-15", "auto", datetime(2023, 1, 15), None),
        ("2023-01-15T12:30:00", "auto", datetime(2023, 1, 15, 12, 30), None),
        ("2023-01-15 12:30", "auto", datetime(2023, 1, 15, 12, 30), None),
        (
            "2023-01-15T12:30:00.250",
            "auto",
            datetime(2023, 1, 15, 12, 30, 0, 250000),
            None,
        ),
        ("2023-01-01T23:30:00-05:00", "auto", datetime(2023, 1, 1, 23, 30), -300),
        ("2023-12-31T23:59:59+14:00", "auto", datetime(2023, 12, 31, 23, 59, 59), 840),
        ("2023-01-15T08:00:00Z", "auto", datetime(2023, 1, 15, 8), 0),
        ("20230115", "auto", datetime(2023, 1, 15), None),
        ("2023-1-5", "auto", datetime(2023, 1, 5), None),
        ("2023/01/15", "auto", datetime(2023, 1, 15), None),
        ("1/2/2022", "auto", datetime(2022, 1, 2), None),
        ("1/2/2022", "mdy", datetime(2022, 1, 2), None),
        ("1/2/2022", "dmy", datetime(2022, 2, 1), None),
        ("12/31/2023", "auto", datetime(2023, 12, 31), None),
        ("12/31/2023 1:05 PM", "auto", datetime(2023, 12, 31, 13, 5), None),
        ("12/31/2023 12:05 am", "auto", datetime(2023, 12, 31, 0, 5), None),
        ("31-12-2023", "dmy", datetime(2023, 12, 31), None),
        ("15.01.2023", "auto", datetime(2023, 1, 15), None),
        ("15.01.2023", "mdy", datetime(2023, 1, 15), None),
        ("15.01.2023 14:30", "auto", datetime(2023, 1, 15, 14, 30), None),
        (
            "Tue Dec 16 2014 12:30:00 GMT-0800 (PST)",
            "auto",
            datetime(2014, 12, 16, 12, 30),
            -480,
        ),
        (
            "Tue Dec 16 2014 23:30:00 GMT-0800 (PST)",
            "auto",
            datetime(2014, 12, 16, 23, 30),
            -480,
        ),
        (
            "Wed Jun 03 2015 03:00:00 GMT-0700 (PDT)",
            "auto",
            datetime(2015, 6, 3, 3),
            -420,
        ),
        (
            "Tue, 16 Dec 2014 12:30:00 -0800",
            "auto",
            datetime(2014, 12, 16, 12, 30),
            -480,
        ),
        ("16 Dec 2014", "auto", datetime(2014, 12, 16), None),
        ("December 16, 2014", "auto", datetime(2014, 12, 16), None),
        ("1672531200", "auto", datetime(2023, 1, 1), 0),
        ("1672531200000", "auto", datetime(2023, 1, 1), 0),
        (1672531200, "auto", datetime(2023, 1, 1), 0),
        (Decimal("1672531200.5"), "auto", datetime(2023, 1, 1, 0, 0, 0, 500000), 0),
    ],
)
def test_date_parses(value, date_order, expected, offset):
    sold_at, utc_offset = parse_sale_time(value, date_order)

    assert sold_at == expected
    assert sold_at.tzinfo is None
    assert utc_offset == offset


def test_date_offset_never_moves_day():
    sold_at, offset = parse_sale_time("Tue Dec 16 2014 23:30:00 GMT-0800 (PST)")

    # In UTC this is 07:30 on December 17; the sale still counts on the 16th.
    assert sold_at.date().isoformat() == "2014-12-16"
    assert offset == -480


@pytest.mark.parametrize(
    ("value", "date_order", "message"),
    [
        ("31/01/2023", "auto", "set the date order to dmy"),
        ("2/30/2023", "auto", "is not a valid date"),
        ("13.13.2023", "auto", "is not a valid date"),
        ("1/2/22", "auto", "has no 4-digit year"),
        ("yesterday", "auto", "is not a date in a known format"),
        ("2023-01", "auto", "is not a date in a known format"),
        ("Foo Dec 16 2014", "auto", "is not a date in a known format"),
        ("16 Smarch 2014", "auto", "unknown month name 'Smarch'"),
        ("13:00 PM", "auto", "is not a date in a known format"),
        ("1/2/2022 13:00 PM", "auto", "has hour 13 with PM"),
        ("1850-01-01", "auto", "is outside the years 1900 to 2100"),
        (2023, "auto", "not a Unix time"),
        (True, "auto", "is not a date"),
        (["2023-01-01"], "auto", "is not a date"),
    ],
)
def test_date_rejects(value, date_order, message):
    with pytest.raises(DateProblem) as caught:
        parse_sale_time(value, date_order)

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["01/03/2024", "15/02/2024"], "dmy"),
        (["01/03/2024", "02/15/2024"], "mdy"),
        (["01/03/2024", "02/04/2024"], None),
        (["15/02/2024", "02/15/2024"], None),
        (["2024-02-15", None, 7, "Tue Dec 16 2014"], None),
    ],
)
def test_guess_date_order_from_sample(values, expected):
    assert guess_date_order(values) == expected
