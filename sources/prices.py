"""Parsing of sale prices into exact decimals with 2 places.

Prices never pass through a float: JSON readers hand numbers over as ``int`` or
``Decimal``, and text is parsed by ``Decimal`` after the currency sign and the
thousands separators are removed.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# The largest price the sales table stores (NUMERIC(14, 2)).
MAX_PRICE = Decimal("999999999999.99")
CENT = Decimal("0.01")

_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?\Z")
_CURRENCY = re.compile(
    r"\A(?P<sign>[-+]?)\s*(?:[$€£¥₹]|[A-Z]{3}|[A-Z]{1,2}\$)?\s*(?P<number>.*?)"
    r"\s*(?:[$€£¥₹]|[A-Z]{3})?\Z",
    re.DOTALL,
)
# Spaces used as thousands separators: space, no-break space, narrow no-break
# space and thin space.
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")


class PriceProblem(ValueError):
    """A value is not a valid price. The message is the full rejection reason."""


class PriceParser:
    """Parse prices written with one decimal mark and thousands separator.

    ``decimal`` is ``.`` or ``,``. ``thousands`` is the separator to accept
    between groups of 3 digits: None accepts ``,`` (when the decimal mark is
    ``.``) and spaces, ``''`` accepts none.
    """

    def __init__(self, decimal: str = ".", thousands: str | None = None) -> None:
        self.decimal = decimal
        self.thousands = thousands
        self.allow_spaces = thousands in (None, " ")
        if thousands is None:
            separator = "," if decimal == "." else ""
        else:
            separator = "" if thousands == " " else thousands
        grouped = rf"\d{{1,3}}(?:{re.escape(separator)}\d{{3}})+|" if separator else ""
        self.separator = separator
        self.pattern = re.compile(
            rf"-?(?:{grouped}\d+)(?:{re.escape(decimal)}\d+)?(?:[eE][-+]?\d+)?\Z"
        )

    def parse(self, value: object) -> Decimal:
        """Return ``value`` as a price above 0, or raise ``PriceProblem``."""
        if isinstance(value, bool) or value is None:
            raise PriceProblem(f"price {value!r} is not a number")
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = self._parse_text(value)
        else:
            raise PriceProblem(f"price {value!r} is not a number")
        return check_price(number, value)

    def parse_plain(self, value: str) -> Decimal | None:
        """Return a plain-digits price in range, or None to take the full path."""
        if self.decimal != "." or not _PLAIN_NUMBER.match(value):
            return None
        number = Decimal(value)
        if number <= 0 or number > MAX_PRICE:
            return None
        rounded = number.quantize(CENT, rounding=ROUND_HALF_UP)
        return rounded if rounded > 0 else None

    def _parse_text(self, value: str) -> Decimal:
        text = value.strip()
        if not text:
            raise PriceProblem("price is empty")
        if self.decimal == "." and _PLAIN_NUMBER.match(text):
            return Decimal(text)
        parts = _CURRENCY.match(text)
        number = parts["number"] if parts else text
        if self.allow_spaces:
            number = _SPACES.sub("", number)
        if not self.pattern.match(number):
            raise PriceProblem(
                f"price {value!r} is not a number (decimal mark {self.decimal!r})"
            )
        if self.separator:
            number = number.replace(self.separator, "")
        number = number.replace(self.decimal, ".")
        sign = "-" if parts and parts["sign"] == "-" else ""
        try:
            return Decimal(sign + number)
        except InvalidOperation:
            raise PriceProblem(
                f"price {value!r} is not a number (decimal mark {self.decimal!r})"
            ) from None


def check_price(number: Decimal, value: object) -> Decimal:
    """Return ``number`` rounded to cents, or raise when it is not a valid price."""
    shown = repr(value) if isinstance(value, str) else str(value)
    if number.is_nan():
        raise PriceProblem(f"price {shown} is not a number")
    if number <= 0:
        raise PriceProblem(f"price {shown} is not above 0")
    if not number.is_finite() or number > MAX_PRICE:
        raise PriceProblem(f"price out of range: {shown} is above {MAX_PRICE:,}")
    rounded = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded <= 0:
        raise PriceProblem(f"price {shown} is not above 0 when rounded to cents")
    if rounded > MAX_PRICE:
        raise PriceProblem(f"price out of range: {shown} is above {MAX_PRICE:,}")
    return rounded
