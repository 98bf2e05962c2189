"""Write deterministic, realistic synthetic car sales as CSV, JSON or NDJSON.

    python data/generate.py --rows 1000000 --format csv --out /tmp/sales.csv

The same seed and row count always give the same bytes. Sales spread over ten
years (2015-2024) across 30 makes and 300 models, with prices between 8,000 and
150,000 and a model-specific base price, so charts show real-looking structure.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

# 30 makes with 10 models each and a base price band per make.
CATALOGUE: dict[str, tuple[int, list[str]]] = {
    "Toyota": (
        24000,
        [
            "Corolla",
            "Camry",
            "RAV4",
            "Yaris",
            "Prius",
            "Highlander",
            "C-HR",
            "Land Cruiser",
            "Aygo X",
            "bZ4X",
        ],
    ),
    "Volkswagen": (
        26000,
        [
            "Golf",
            "Passat",
            "Tiguan",
            "Polo",
            "ID.3",
            "ID.4",
            "T-Roc",
            "Touran",
            "Arteon",
            "Up",
        ],
    ),
    "Ford": (
        25000,
        [
            "Focus",
            "Fiesta",
            "Kuga",
            "Puma",
            "Mustang",
            "Mondeo",
            "Explorer",
            "Ranger",
            "Transit Custom",
            "Mustang Mach-E",
        ],
    ),
    "Honda": (
        23000,
        [
            "Civic",
            "Accord",
            "CR-V",
            "Jazz",
            "HR-V",
            "Pilot",
            "e",
            "ZR-V",
            "Odyssey",
            "Insight",
        ],
    ),
    "BMW": (
        45000,
        [
            "3 Series",
            "5 Series",
            "X1",
            "X3",
            "X5",
            "i4",
            "iX",
            "1 Series",
            "2 Series",
            "7 Series",
        ],
    ),
    "Mercedes-Benz": (
        48000,
        [
            "A-Klasse",
            "C-Klasse",
            "E-Klasse",
            "GLA",
            "GLC",
            "GLE",
            "EQA",
            "EQC",
            "S-Klasse",
            "CLA",
        ],
    ),
    "Audi": (44000, ["A3", "A4", "A6", "Q2", "Q3", "Q5", "Q7", "e-tron", "A1", "TT"]),
    "Hyundai": (
        21000,
        [
            "i10",
            "i20",
            "i30",
            "Tucson",
            "Kona",
            "Santa Fe",
            "Ioniq 5",
            "Ioniq 6",
            "Bayon",
            "Elantra",
        ],
    ),
    "Kia": (
        21000,
        [
            "Ceed",
            "Rio",
            "Sportage",
            "Niro",
            "Sorento",
            "EV6",
            "Picanto",
            "Stonic",
            "XCeed",
            "EV9",
        ],
    ),
    "Nissan": (
        22000,
        [
            "Qashqai",
            "Juke",
            "Leaf",
            "Micra",
            "X-Trail",
            "Ariya",
            "Navara",
            "Note",
            "Altima",
            "Rogue",
        ],
    ),
    "Peugeot": (
        22000,
        ["208", "308", "2008", "3008", "5008", "508", "e-208", "Rifter", "108", "408"],
    ),
    "Renault": (
        20000,
        [
            "Clio",
            "Megane",
            "Captur",
            "Kadjar",
            "Zoe",
            "Scenic",
            "Arkana",
            "Austral",
            "Twingo",
            "Kangoo",
        ],
    ),
    "Skoda": (
        22000,
        [
            "Octavia",
            "Fabia",
            "Superb",
            "Kodiaq",
            "Karoq",
            "Kamiq",
            "Enyaq",
            "Scala",
            "Citigo",
            "Rapid",
        ],
    ),
    "Volvo": (
        42000,
        ["XC40", "XC60", "XC90", "V60", "V90", "S60", "S90", "C40", "EX30", "V40"],
    ),
    "Mazda": (
        24000,
        [
            "Mazda2",
            "Mazda3",
            "Mazda6",
            "CX-3",
            "CX-30",
            "CX-5",
            "CX-60",
            "MX-5",
            "MX-30",
            "CX-90",
        ],
    ),
    "Tesla": (
        48000,
        [
            "Model 3",
            "Model Y",
            "Model S",
            "Model X",
            "Cybertruck",
            "Roadster",
            "Model 3 Performance",
            "Model Y Long Range",
            "Model S Plaid",
            "Model X Plaid",
        ],
    ),
    "Opel": (
        20000,
        [
            "Corsa",
            "Astra",
            "Mokka",
            "Grandland",
            "Crossland",
            "Insignia",
            "Zafira",
            "Combo",
            "Adam",
            "Karl",
        ],
    ),
    "Citroen": (
        19000,
        [
            "C3",
            "C4",
            "C5 Aircross",
            "Berlingo",
            "C1",
            "C3 Aircross",
            "e-C4",
            "C5 X",
            "Ami",
            "SpaceTourer",
        ],
    ),
    "Fiat": (
        16000,
        [
            "500",
            "Panda",
            "Tipo",
            "500X",
            "500e",
            "Doblo",
            "Punto",
            "600",
            "Qubo",
            "Ducato",
        ],
    ),
    "Suzuki": (
        17000,
        [
            "Swift",
            "Vitara",
            "S-Cross",
            "Ignis",
            "Jimny",
            "Baleno",
            "Celerio",
            "Across",
            "Swace",
            "Alto",
        ],
    ),
    "Subaru": (
        29000,
        [
            "Outback",
            "Forester",
            "XV",
            "Impreza",
            "Legacy",
            "BRZ",
            "Solterra",
            "WRX",
            "Levorg",
            "Ascent",
        ],
    ),
    "Mitsubishi": (
        22000,
        [
            "Outlander",
            "ASX",
            "Eclipse Cross",
            "Space Star",
            "L200",
            "Pajero",
            "Colt",
            "Lancer",
            "Mirage",
            "i-MiEV",
        ],
    ),
    "Lexus": (50000, ["RX", "NX", "UX", "ES", "IS", "LS", "LC", "RZ", "LBX", "GX"]),
    "Porsche": (
        95000,
        [
            "911",
            "Cayenne",
            "Macan",
            "Taycan",
            "Panamera",
            "718",
            "Boxster",
            "Cayman",
            "Taycan Cross Turismo",
            "Cayenne Coupe",
        ],
    ),
    "Land Rover": (
        62000,
        [
            "Range Rover",
            "Defender",
            "Discovery",
            "Evoque",
            "Velar",
            "Discovery Sport",
            "Range Rover Sport",
            "Freelander",
            "Defender 130",
            "Range Rover EV",
        ],
    ),
    "Jaguar": (
        55000,
        [
            "F-Pace",
            "E-Pace",
            "I-Pace",
            "XE",
            "XF",
            "F-Type",
            "XJ",
            "XK",
            "S-Type",
            "X-Type",
        ],
    ),
    "MINI": (
        27000,
        [
            "Cooper",
            "Countryman",
            "Clubman",
            "Paceman",
            "Cabrio",
            "Electric",
            "John Cooper Works",
            "Aceman",
            "Coupe",
            "Roadster",
        ],
    ),
    "Dacia": (
        14000,
        [
            "Sandero",
            "Duster",
            "Logan",
            "Jogger",
            "Spring",
            "Lodgy",
            "Dokker",
            "Bigster",
            "Sandero Stepway",
            "Logan MCV",
        ],
    ),
    "Seat": (
        21000,
        [
            "Ibiza",
            "Leon",
            "Arona",
            "Ateca",
            "Tarraco",
            "Alhambra",
            "Mii",
            "Toledo",
            "Formentor",
            "Born",
        ],
    ),
    "Chevrolet": (
        27000,
        [
            "Malibu",
            "Equinox",
            "Silverado",
            "Tahoe",
            "Bolt",
            "Camaro",
            "Corvette",
            "Traverse",
            "Trax",
            "Blazer",
        ],
    ),
}
MIN_PRICE = 8000
MAX_PRICE = 150000
FIRST_DAY = datetime(2015, 1, 1)
DAYS = (datetime(2025, 1, 1) - FIRST_DAY).days


def generate_rows(rows: int, seed: int = 7):
    """Yield ``rows`` sales as (id, company, car_model, sale_time, price) tuples."""
    rng = random.Random(seed)
    makes = list(CATALOGUE)
    # Popular makes sell more: weights fall off with position in the catalogue.
    weights = [1.0 / (1 + index * 0.15) for index in range(len(makes))]
    for number in range(1, rows + 1):
        company = rng.choices(makes, weights)[0]
        base, models = CATALOGUE[company]
        model_index = min(int(rng.expovariate(0.45)), len(models) - 1)
        model = models[model_index]
        factor = 0.75 + model_index * 0.08 + rng.random() * 0.5
        price = min(MAX_PRICE, max(MIN_PRICE, round(base * factor, 2)))
        # More sales in later years and in spring and autumn.
        day = int(DAYS * (rng.random() ** 0.8))
        moment = FIRST_DAY + timedelta(days=day, minutes=rng.randrange(8 * 60, 19 * 60))
        yield number, company, model, moment, price


def write_csv(rows: int, out: TextIO, seed: int) -> None:
    out.write("id,company,car_model,sale_date,price\n")
    for number, company, model, moment, price in generate_rows(rows, seed):
        out.write(
            f"S{number:08d},{company},{model},{moment:%Y-%m-%d %H:%M:%S},{price:.2f}\n"
        )


def _record(number, company, model, moment, price) -> dict:
    return {
        "id": f"S{number:08d}",
        "company": company,
        "car_model": model,
        "sale_date": moment.strftime("%Y-%m-%dT%H:%M:%S"),
        "price": float(f"{price:.2f}"),
    }


def write_ndjson(rows: int, out: TextIO, seed: int) -> None:
    for values in generate_rows(rows, seed):
        out.write(json.dumps(_record(*values)) + "\n")


def write_json(rows: int, out: TextIO, seed: int) -> None:
    out.write("[\n")
    for values in generate_rows(rows, seed):
        prefix = "" if values[0] == 1 else ",\n"
        out.write(prefix + json.dumps(_record(*values)))
    out.write("\n]\n")


def _recent(moment: datetime) -> datetime:
    """Move a sale into 2022-2024, keeping its day; 29 February goes to 2024."""
    if (moment.month, moment.day) == (2, 29):
        return moment.replace(year=2024)
    return moment.replace(year=2022 + moment.year % 3)


def write_samples(folder: Path) -> None:
    """Write the two sample files shipped in data/, in the shapes exports arrive in.

    ``sample_data_a.json`` is a top-level array of records with ISO times that
    carry a UTC offset. ``sample_data_b.csv`` uses the header names
    of a dealer export (``Sale ID,Make,Model,Date,Price ($)``), US dates and
    prices with a dollar sign and thousands separators.
    """
    rng = random.Random(2024)
    records = []
    for number, company, model, moment, price in generate_rows(400, seed=11):
        moment = _recent(moment)
        offset = rng.choice(["+01:00", "+02:00", "Z", "-05:00"])
        records.append(
            {
                "id": f"EU-{number:05d}",
                "company": company,
                "car_model": model,
                "sale_date": moment.strftime("%Y-%m-%dT%H:%M:%S") + offset,
                "price": round(price, 2),
            }
        )
    with open(folder / "sample_data_a.json", "w", encoding="utf-8") as out:
        json.dump(records, out, indent=1)
        out.write("\n")

    with open(folder / "sample_data_b.csv", "w", encoding="utf-8", newline="") as out:
        out.write("Sale ID,Make,Model,Date,Price ($),Dealer\n")
        dealers = [
            "Northside Motors",
            "Lakeview Auto",
            "Harbor Cars",
            "Summit Autohaus",
        ]
        for number, company, model, moment, price in generate_rows(350, seed=23):
            moment = _recent(moment)
            out.write(
                f"US-{number:05d},{company},{model},"
                f"{moment.month}/{moment.day}/{moment.year},"
                f'"${price:,.2f}",{rng.choice(dealers)}\n'
            )


WRITERS = {"csv": write_csv, "json": write_json, "ndjson": write_ndjson}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="number of sales")
    parser.add_argument(
        "--samples", type=Path, help="write the two sample files into this folder"
    )
    parser.add_argument("--format", choices=sorted(WRITERS), default="csv")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--out", type=Path, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    if args.samples:
        write_samples(args.samples)
        return 0
    if args.rows is None or args.rows < 1:
        parser.error(f"--rows must be at least 1, got {args.rows}")
    writer = WRITERS[args.format]
    if args.out is None:
        writer(args.rows, sys.stdout, args.seed)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            writer(args.rows, out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
