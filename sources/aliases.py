"""Default alias tables: column names for each canonical field, and company names.

Column names are matched on a key that ignores case, spaces and punctuation, so
``Price ($)``, ``price`` and ``PRICE`` all give the key ``price``. Company names
are matched ignoring case, spaces, dots and hyphens only, so a value such as
``+Opel`` (a formula to a spreadsheet) is not taken for ``Opel``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_NAME_SEPARATORS = re.compile(r"[\s._\-'’]+")

# Source column names for each canonical field, in order of preference: when a
# file has two matching columns, the one listed first wins. Sale time columns
# come before date-only ones, so a record with both keeps its time of day.
# A VIN names a car, not a sale (one car can be sold many times), so it is never
# taken as the id.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "sale_id", "record_id", "transaction_id", "Car_id"),
    "company": ("company", "make", "brand", "manufacturer", "car_make"),
    "car_model": ("car_model", "model", "model_name"),
    "sale_date": (
        "sold_at",
        "sale_time",
        "sale_date",
        "saledate",
        "date",
        "sold_on",
        "timestamp",
    ),
    "price": (
        "price",
        "sale_price",
        "selling_price",
        "sellingprice",
        "amount",
        "Price ($)",
    ),
    "currency": ("currency", "currency_code"),
}

# Canonical company names. Each name is also its own alias, so BMW, bmw and B.M.W.
# all become BMW. Names written in capitals here are kept in capitals.
CANONICAL_COMPANIES = (
    "Acura",
    "Alfa Romeo",
    "Aston Martin",
    "Audi",
    "Bentley",
    "BMW",
    "Buick",
    "BYD",
    "Cadillac",
    "Chevrolet",
    "Chrysler",
    "Citroën",
    "Cupra",
    "Dacia",
    "Daewoo",
    "Daihatsu",
    "Dodge",
    "DS",
    "Ferrari",
    "Fiat",
    "Ford",
    "Genesis",
    "GMC",
    "Honda",
    "Hummer",
    "Hyundai",
    "Infiniti",
    "Isuzu",
    "Jaguar",
    "Jeep",
    "Kia",
    "Lada",
    "Lamborghini",
    "Lancia",
    "Land Rover",
    "Lexus",
    "Lincoln",
    "Lotus",
    "Maserati",
    "Maybach",
    "Mazda",
    "McLaren",
    "Mercedes-Benz",
    "Mercury",
    "MG",
    "MINI",
    "Mitsubishi",
    "Nissan",
    "Oldsmobile",
    "Opel",
    "Peugeot",
    "Plymouth",
    "Polestar",
    "Pontiac",
    "Porsche",
    "Ram",
    "Renault",
    "Rolls-Royce",
    "Saab",
    "Saturn",
    "Scion",
    "SEAT",
    "Škoda",
    "Smart",
    "Subaru",
    "Suzuki",
    "Tesla",
    "Toyota",
    "Vauxhall",
    "Volkswagen",
    "Volvo",
)

# Other spellings seen in real exports, including names cut short by a column
# width limit (``Mercedes-B`` in the Kaggle car sales report).
COMPANY_ALIASES: dict[str, str] = {
    "mercedes": "Mercedes-Benz",
    "mercedes-b": "Mercedes-Benz",
    "mercedes benz": "Mercedes-Benz",
    "benz": "Mercedes-Benz",
    "vw": "Volkswagen",
    "chevy": "Chevrolet",
    "range rover": "Land Rover",
    "rolls royce": "Rolls-Royce",
    "alfa": "Alfa Romeo",
}


def alias_key(name: str) -> str:
    """Return the matching key of ``name``: lower case, letters and digits only."""
    return _NOT_ALPHANUMERIC.sub("", name.casefold())


def strip_accents(name: str) -> str:
    """Return ``name`` without combining accents: "Škoda" becomes "Skoda"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def company_key(name: str) -> str:
    """Return the matching key of a company name: lower case, no separators."""
    return _NAME_SEPARATORS.sub("", name.casefold())


def build_company_table(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the company alias table keyed by ``company_key``.

    ``extra`` maps further spellings to canonical names and overrides the defaults.
    """
    table = {company_key(name): name for name in CANONICAL_COMPANIES}
    # Exports often drop accents: "Skoda" and "Citroen" are the same makes.
    for name in CANONICAL_COMPANIES:
        table.setdefault(company_key(strip_accents(name)), name)
    for alias, name in COMPANY_ALIASES.items():
        table[company_key(alias)] = name
    for alias, name in (extra or {}).items():
        table[company_key(alias)] = name
    return table


def build_column_table() -> dict[str, tuple[str, ...]]:
    """Return the column aliases of each canonical field as matching keys."""
    return {
        field: tuple(dict.fromkeys(alias_key(alias) for alias in aliases))
        for field, aliases in COLUMN_ALIASES.items()
    }


DEFAULT_COMPANY_TABLE = build_company_table()

# Words kept in capitals when an all-lower or all-upper company name is re-cased.
ACRONYM_WORDS = frozenset(
    company_key(name) for name in CANONICAL_COMPANIES if name.isupper()
)
