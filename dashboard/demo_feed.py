"""A deterministic, growing feed of realistic car sales for the demo API source.

Records run from ``FEED_START`` to the day before ``today``, a few per day, so
the last page grows each day while every earlier record keeps its content and
position. Record ``n`` depends only on the seed and ``n``, never on the page
size. About one record in twenty is deliberately untidy but still valid: a price
written as a ``"$28,450.00"`` string, a lower-case or padded make.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

FEED_START = date(2023, 1, 1)
SALES_PER_DAY = (2, 8)
PRICE_FLOOR = 8_000
PRICE_CEILING = 150_000
# UTC offsets in minutes of the regions the dealers sit in.
UTC_OFFSETS = (-480, -420, -360, -300, 0, 60, 120, 330, 540, 600)

# One make per entry: name | typical list price in USD | models, where an
# indented line continues the models of the entry above. A model's own base price
# is drawn around the make's price from the model name, so it stays the same
# every run.
CATALOGUE_TABLE = """
Toyota | 32000 | Corolla, Camry, RAV4, Highlander, Tacoma, Tundra, Prius, Yaris,
    Sienna, 4Runner
Honda | 31000 | Civic, Accord, CR-V, HR-V, Pilot, Odyssey, Passport, Ridgeline, Fit,
    Insight
Ford | 38000 | F-150, Ranger, Mustang, Explorer, Escape, Bronco, Edge, Expedition,
    Maverick, Transit
Chevrolet | 36000 | Silverado, Malibu, Equinox, Tahoe, Traverse, Camaro, Colorado,
    Blazer, Trax, Suburban
Nissan | 29000 | Altima, Sentra, Rogue, Pathfinder, Frontier, Murano, Kicks, Leaf,
    Versa, Armada
Hyundai | 28000 | Elantra, Sonata, Tucson, Santa Fe, Kona, Palisade, Ioniq 5, Venue,
    Accent, Santa Cruz
Kia | 27000 | Forte, K5, Sportage, Sorento, Telluride, Soul, Seltos, EV6, Carnival,
    Niro
Volkswagen | 33000 | Golf, Jetta, Passat, Tiguan, Atlas, Taos, ID.4, Polo, Arteon,
    T-Roc
BMW | 58000 | 3 Series, 5 Series, 7 Series, X1, X3, X5, X7, i4, iX, M3
Mercedes-Benz | 62000 | C-Class, E-Class, S-Class, A-Class, GLA, GLC, GLE, GLS, EQE,
    G-Class
Audi | 55000 | A3, A4, A6, A8, Q3, Q5, Q7, Q8, e-tron GT, TT
Lexus | 52000 | IS, ES, LS, NX, RX, GX, LX, UX, RC, RZ
Mazda | 30000 | Mazda3, Mazda6, CX-30, CX-5, CX-50, CX-9, CX-90, MX-5 Miata, CX-3,
    MX-30
Subaru | 31000 | Impreza, Legacy, Outback, Forester, Crosstrek, Ascent, WRX, BRZ,
    Solterra, Baja
Jeep | 41000 | Wrangler, Grand Cherokee, Cherokee, Compass, Renegade, Gladiator,
    Wagoneer, Grand Wagoneer, Commander, Patriot
Tesla | 55000 | Model 3, Model Y, Model S, Model X, Cybertruck, Roadster, Model 3
    Performance, Model Y Long Range, Model S Plaid, Model X Plaid
Volvo | 50000 | S60, S90, V60, V90, XC40, XC60, XC90, C40 Recharge, EX30, EX90
Porsche | 105000 | 911, Cayenne, Macan, Panamera, Taycan, 718 Cayman, 718 Boxster,
    Cayenne Coupe, Taycan Cross Turismo, 911 Turbo
Land Rover | 85000 | Defender, Discovery, Discovery Sport, Range Rover, Range Rover
    Sport, Range Rover Velar, Range Rover Evoque, Freelander, Defender 130, Range
    Rover LWB
Jaguar | 68000 | F-Pace, E-Pace, I-Pace, XF, XE, F-Type, XJ, F-Type R, XF
    Sportbrake, F-Pace SVR
Peugeot | 27000 | 208, 308, 408, 508, 2008, 3008, 5008, e-208, Rifter, Partner
Renault | 24000 | Clio, Megane, Captur, Arkana, Austral, Kadjar, Scenic, Zoe,
    Twingo, Espace
Fiat | 20000 | 500, 500X, 500e, Panda, Tipo, Doblo, Ducato, Punto, Qubo, 124 Spider
Škoda | 26000 | Octavia, Fabia, Superb, Kodiaq, Karoq, Kamiq, Scala, Enyaq, Rapid,
    Citigo
Dodge | 42000 | Charger, Challenger, Durango, Hornet, Journey, Grand Caravan, Dart,
    Viper, Avenger, Nitro
GMC | 52000 | Sierra, Yukon, Acadia, Terrain, Canyon, Hummer EV, Savana, Envoy,
    Jimmy, Sierra HD
Mitsubishi | 25000 | Outlander, Eclipse Cross, Mirage, ASX, Pajero, L200, Lancer,
    Galant, Montero, Outlander PHEV
MINI | 32000 | Cooper, Cooper S, Countryman, Clubman, Convertible, John Cooper
    Works, Paceman, Coupe, Roadster, Aceman
Genesis | 56000 | G70, G80, G90, GV60, GV70, GV80, Electrified G80, G70 Shooting
    Brake, GV70 Sport, X Concept
Cadillac | 64000 | CT4, CT5, XT4, XT5, XT6, Escalade, Lyriq, Celestiq, Escalade ESV,
    CT6
"""


def parse_catalogue(table: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    entries: list[str] = []
    for line in table.strip().splitlines():
        if line.startswith(" ") and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)

    catalogue = {}
    for entry in entries:
        make, price, models = (part.strip() for part in entry.split("|"))
        catalogue[make] = (int(price), tuple(m.strip() for m in models.split(",")))
    return catalogue


CATALOGUE = parse_catalogue(CATALOGUE_TABLE)

DEALERS = (
    "Northgate Motors",
    "Harbor Auto Group",
    "Lakeside Cars",
    "Summit Autos",
    "Riverside Dealership",
    "Metro Motor Hall",
    "Prairie Auto Sales",
    "Coastal Car Center",
    "Old Town Garage",
    "Ridgeway Motors",
)


@dataclass(frozen=True, slots=True)
class FeedPage:
    records: list[dict[str, Any]]
    total_records: int
    total_pages: int


def _day_count(seed: int, day: date) -> int:
    return random.Random(f"{seed}:day:{day.isoformat()}").randint(*SALES_PER_DAY)


@lru_cache(maxsize=64)
def _day_starts(seed: int, last_day: date) -> tuple[tuple[date, ...], tuple[int, ...]]:
    """Return each day from ``FEED_START`` to ``last_day`` with its first index."""
    days: list[date] = []
    starts: list[int] = []
    total = 0
    day = FEED_START
    while day <= last_day:
        days.append(day)
        starts.append(total)
        total += _day_count(seed, day)
        day += timedelta(days=1)
    days.append(day)
    starts.append(total)
    return tuple(days), tuple(starts)


def _model_price(make: str, model: str) -> int:
    base = CATALOGUE[make][0]
    factor = random.Random(f"price:{make}:{model}").uniform(0.7, 1.5)
    return int(base * factor)


def _price(rng: random.Random, make: str, model: str) -> float:
    value = _model_price(make, model) * rng.uniform(0.85, 1.15)
    cents = rng.randint(0, 99)
    whole = min(max(int(value), PRICE_FLOOR), PRICE_CEILING - 1)
    return round(whole + cents / 100, 2)


def utc_offset_text(offset_minutes: int) -> str:
    """Format a UTC offset in minutes as ISO 8601 text, such as +05:30."""
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _sold_at(rng: random.Random, day: date) -> str:
    offset = rng.choice(UTC_OFFSETS)
    moment = datetime(
        day.year,
        day.month,
        day.day,
        rng.randint(8, 19),
        rng.randint(0, 59),
        rng.randint(0, 59),
    )
    return moment.isoformat() + utc_offset_text(offset)


def make_record(seed: int, index: int, day: date) -> dict[str, Any]:
    """Build record number ``index`` of the feed, sold on ``day``."""
    rng = random.Random(f"{seed}:record:{index}")
    make = rng.choice(sorted(CATALOGUE))
    model = rng.choice(CATALOGUE[make][1])
    price: float | str = _price(rng, make, model)
    company = make

    untidy = rng.random()
    if untidy < 0.02:
        price = f"${price:,.2f}"
    elif untidy < 0.04:
        company = make.lower()
    elif untidy < 0.05:
        company = f"  {make} "

    return {
        "id": f"demo-{seed}-{index:07d}",
        "company": company,
        "car_model": model,
        "sale_date": _sold_at(rng, day),
        "price": price,
        "currency": "USD",
        "dealer": rng.choice(DEALERS),
    }


def feed_page(seed: int, page: int, per_page: int, today: date) -> FeedPage:
    """Return page ``page`` (from 1) of the feed as it stands on ``today``."""
    last_day = today - timedelta(days=1)
    days, starts = _day_starts(seed, last_day)
    total = starts[-1]
    total_pages = -(-total // per_page)
    first = (page - 1) * per_page
    last = min(first + per_page, total)

    records = []
    day_index = bisect_right(starts, first) - 1
    for index in range(first, last):
        while starts[day_index + 1] <= index:
            day_index += 1
        records.append(make_record(seed, index, days[day_index]))
    return FeedPage(records=records, total_records=total, total_pages=total_pages)
