"""Normaliser: names, column mapping, rejection reasons and record keys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sources import Normalizer, SourceError, record_key
from sources.aliases import DEFAULT_COMPANY_TABLE
from sources.normalize import canonical_company, clean_text
from sources.records import RawRecord, Rejection, SaleRecord
from sources.spec import SourceSpec


def normalize(row: dict, **spec_options) -> SaleRecord | Rejection:
    spec = SourceSpec(kind="json", path="/data/sales.json", **spec_options)
    return Normalizer(spec).normalize(RawRecord(7, row, str(row)))


def sale(**fields) -> dict:
    row = {
        "company": "Toyota",
        "car_model": "Corolla",
        "sale_date": "2023-02-01",
        "price": "21500",
    }
    row.update(fields)
    return row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Toyota", "Toyota"),
        ("Toyota ", "Toyota"),
        ("\u00a0Mercedes-Benz ", "Mercedes-Benz"),
        ("MERCEDES-BENZ", "Mercedes-Benz"),
        ("mercedes", "Mercedes-Benz"),
        ("Mercedes-B", "Mercedes-Benz"),
        ("Mercedes Benz", "Mercedes-Benz"),
        ("bmw", "BMW"),
        ("BMW", "BMW"),
        ("B.M.W.", "BMW"),
        ("landrover", "Land Rover"),
        ("land rover", "Land Rover"),
        ("Land Rover", "Land Rover"),
        ("vw", "Volkswagen"),
        ("VW", "Volkswagen"),
        ("KIA", "Kia"),
        ("Kia", "Kia"),
        ("mazda", "Mazda"),
        ("smart", "Smart"),
        ("HUMMER", "Hummer"),
        ("MINI", "MINI"),
        ("FIAT", "Fiat"),
        ("gmc truck", "GMC Truck"),
        ("ACME MOTORS", "Acme Motors"),
        ("rolls-royce", "Rolls-Royce"),
        ("McLaren", "McLaren"),
        ("DeLorean", "DeLorean"),
        ("=1+2", "=1+2"),
        ("+Opel", "+Opel"),
        ("Škoda", "Škoda"),
        ("\tRio", "Rio"),
    ],
)
def test_company_canonical_name(value, expected):
    result = normalize(sale(company=value))

    assert isinstance(result, SaleRecord), result
    assert result.company == expected


def test_company_aliases_extend_defaults():
    spec = SourceSpec(kind="json", path="/data/sales.json")
    normalizer = Normalizer(spec, company_aliases={"Toyota Motor Corp": "Toyota"})

    result = normalizer.normalize(RawRecord(2, sale(company="TOYOTA MOTOR CORP"), ""))

    assert result.company == "Toyota"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Focus\nEstate", "Focus Estate"),
        ("  A-Klasse ", "A-Klasse"),
        ("3 Series", "3 Series"),
        ("CX-5", "CX-5"),
        ("cx-5", "cx-5"),
        ("=1+2", "=1+2"),
        ("@SUM(1;2)", "@SUM(1;2)"),
        ("-Rio", "-Rio"),
        ("\tRio", "Rio"),
        ("Rav4\u00a0\u00a0Hybrid", "Rav4 Hybrid"),
        (3500, "3500"),
    ],
)
def test_model_trimmed_not_recased(value, expected):
    result = normalize(sale(car_model=value))

    assert isinstance(result, SaleRecord), result
    assert result.car_model == expected


def test_clean_text_collapses_whitespace():
    assert clean_text(" a\t\tb\r\nc\u00a0 ") == "a b c"


def test_canonical_company_keeps_mixed_case():
    assert canonical_company("Alfa romeo", DEFAULT_COMPANY_TABLE) == "Alfa Romeo"
    assert canonical_company("Tata Motors", DEFAULT_COMPANY_TABLE) == "Tata Motors"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"company": ""}, "company is empty"),
        ({"company": "   "}, "company is empty"),
        ({"company": None}, "company is empty"),
        ({"company": "", "car_model": ""}, "company is empty; car_model is empty"),
        ({"company": {"name": "Kia"}}, "company {'name': 'Kia'} is not text"),
        ({"car_model": "x" * 121}, "car_model is longer than 120 characters"),
        ({"sale_date": ""}, "sale_date is empty"),
        ({"sale_date": "  "}, "sale_date is empty"),
        ({"sale_date": "soon"}, "sale_date 'soon' is not a date in a known format"),
        ({"price": ""}, "price is empty"),
        ({"price": None}, "price is empty"),
        ({"price": "-1"}, "price '-1' is not above 0"),
        ({"price": "12,5"}, "price '12,5' is not a number (decimal mark '.')"),
        ({"currency": "dollars"}, "currency 'dollars' is not a 3-letter code"),
        ({"id": "x" * 129}, "id is longer than 128 characters"),
    ],
)
def test_row_rejection_reason(fields, reason):
    result = normalize(sale(**fields))

    assert isinstance(result, Rejection)
    assert result.line_no == 7
    assert result.reason.startswith(reason)


def test_missing_key_in_later_record_rejects_row():
    spec = SourceSpec(kind="json", path="/data/sales.json")
    normalizer = Normalizer(spec)
    normalizer.normalize(RawRecord(1, sale(), ""))

    row = sale()
    del row["price"]
    result = normalizer.normalize(RawRecord(2, row, "{...}"))

    assert isinstance(result, Rejection)
    assert result.reason == "price is missing"


def test_missing_column_fails_on_first_record():
    row = {"make": "Kia", "model": "Rio", "date": "2023-01-01", "cost": "9"}

    with pytest.raises(SourceError) as caught:
        normalize(row)

    message = str(caught.value)
    assert "no column for price; columns are: make, model, date, cost" in message
    assert "Set a column mapping" in message


def test_mapped_column_absent_fails():
    with pytest.raises(SourceError) as caught:
        normalize(sale(), mapping={"price": "Preis"})

    assert "the column 'Preis' mapped to price is not there" in str(caught.value)


def test_mapped_optional_column_absent_fails():
    with pytest.raises(SourceError) as caught:
        normalize(sale(), mapping={"id": "sale_no"})

    assert "the column 'sale_no' mapped to id is not there" in str(caught.value)


def test_explicit_mapping_beats_alias():
    row = sale(list_price="30000", price="25000")

    result = normalize(row, mapping={"price": "list_price"})

    assert result.price == Decimal("30000.00")


def test_mapping_matches_column_loosely():
    row = {"Make": "Kia", "Model": "Rio", "Sold On": "2023-01-01", "Cost (EUR)": "9"}

    result = normalize(row, mapping={"price": "cost eur"})

    assert result.price == Decimal("9.00")
    assert result.sale_date == date(2023, 1, 1)


def test_dotted_mapping_reads_nested_json():
    row = {
        "id": 7,
        "car": {"car_make": "Lamborghini", "car_model": "Murciélago"},
        "price": "$7267.94",
        "sold": {"at": "2023-05-01T10:00:00"},
    }

    result = normalize(
        row,
        mapping={
            "company": "car.car_make",
            "car_model": "car.car_model",
            "sale_date": "sold.at",
        },
    )

    assert result.company == "Lamborghini"
    assert result.car_model == "Murciélago"
    assert result.price == Decimal("7267.94")
    assert result.source_record_id == "7"


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (("make", "model", "saledate", "sellingprice"), ("make", "saledate")),
        (("Company", "Model", "Date", "Price ($)"), ("Company", "Date")),
        (("brand", "car_model", "sold_at", "amount"), ("brand", "sold_at")),
        (
            ("MANUFACTURER", "MODEL", "TIMESTAMP", "SALE_PRICE"),
            ("MANUFACTURER", "TIMESTAMP"),
        ),
    ],
)
def test_column_aliases_case_insensitive(columns, expected):
    values = ("Kia", "Rio", "2023-03-04", "9000")
    row = dict(zip(columns, values, strict=True))
    spec = SourceSpec(kind="csv", path="/data/x.csv")
    normalizer = Normalizer(spec)

    result = normalizer.normalize(RawRecord(2, row, ""))

    assert result.company == "Kia"
    assert result.sale_date == date(2023, 3, 4)
    assert normalizer.first_plan.company == expected[0]
    assert normalizer.first_plan.sale_date == expected[1]


def test_vin_is_not_an_id():
    result = normalize(sale(vin="wbaye8c59ed134514"))

    assert result.source_record_id is None


def test_id_aliases():
    assert normalize(sale(Car_id="C_CND_000001")).source_record_id == "C_CND_000001"
    assert normalize(sale(sale_id=" 42 ")).source_record_id == "42"


def test_currency_from_column_or_spec():
    assert normalize(sale(currency="eur")).currency == "EUR"
    assert normalize(sale(currency="€")).currency == "EUR"
    assert normalize(sale(), currency="NOK").currency == "NOK"
    assert normalize(sale()).currency is None


def test_offset_kept_with_local_time():
    result = normalize(sale(sale_date="2023-01-01T23:30:00-05:00"))

    assert result.sold_at == datetime(2023, 1, 1, 23, 30)
    assert result.sale_date == date(2023, 1, 1)
    assert result.utc_offset_minutes == -300


def test_date_order_from_spec():
    assert normalize(sale(sale_date="1/2/2022")).sale_date == date(2022, 1, 2)
    result = normalize(sale(sale_date="1/2/2022"), date_order="dmy")
    assert result.sale_date == date(2022, 2, 1)


def make_record(**fields) -> SaleRecord:
    values = {
        "company": "Lexus",
        "car_model": "RX",
        "sold_at": datetime(2023, 12, 1),
        "sale_date": date(2023, 12, 1),
        "price": Decimal("52000.00"),
    }
    values.update(fields)
    return SaleRecord(**values)


def raw_of(**data) -> RawRecord:
    return RawRecord(line_no=2, data=data, raw=",".join(map(str, data.values())))


RAW = raw_of(company="Lexus", car_model="RX", sale_date="2023-12-01", price="52000")


def test_record_key_shape():
    key = record_key("csv:file:a.csv", make_record(source_record_id="A1"), RAW)

    assert len(key) == 32
    assert int(key, 16) >= 0


def test_record_key_id_text_exact():
    seven = record_key("s", make_record(source_record_id="7"), RAW)
    zero_seven = record_key("s", make_record(source_record_id="007"), RAW)

    assert seven != zero_seven


def test_record_key_int_and_string_id_equal():
    from_int = normalize(sale(id=9007199254740993))
    from_text = normalize(sale(id="9007199254740993"))

    assert record_key("s", from_int, RAW) == record_key("s", from_text, RAW)


def test_record_key_big_ids_differ():
    first = normalize(sale(id=9007199254740993))
    second = normalize(sale(id=9007199254740992))

    assert record_key("s", first, RAW) != record_key("s", second, RAW)


def test_record_key_id_depends_on_source():
    record = make_record(source_record_id="A1")

    assert record_key("source-a", record, RAW) != record_key("source-b", record, RAW)


def test_record_key_same_content_other_id():
    first = make_record(source_record_id="A1")
    second = make_record(source_record_id="A2")

    assert record_key("s", first, RAW) != record_key("s", second, RAW)


def test_record_key_without_id_uses_raw_content():
    record = make_record()

    assert record_key("source-a", record, RAW) == record_key("source-b", record, RAW)
    cheaper = raw_of(company="Lexus", car_model="RX", sale_date="2023-12-01", price="1")
    assert record_key("s", record, RAW) != record_key("s", record, cheaper)


def test_record_key_without_id_sees_unmapped_columns():
    """Two auction rows equal in every stored field but the VIN are two sales."""
    record = make_record()
    first = raw_of(make="Kia", model="Sorento", vin="5xyktca69fg566472")
    second = raw_of(make="Kia", model="Sorento", vin="5xyktca69fg561319")

    assert record_key("s", record, first) != record_key("s", record, second)
    assert record_key("s", record, first) == record_key("s", record, first)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Skoda", "Škoda"),
        ("SKODA", "Škoda"),
        ("Citroen", "Citroën"),
        ("Škoda", "Škoda"),
    ],
)
def test_company_without_accents_maps_to_canonical(written, expected):
    record = normalize(sale(company=written))
    assert record.company == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Kia\x00", "Kia"),
        ("\x00K\x00i\x00a\x00", "Kia"),
        ("Land\x1b[31m Rover", "Land[31m Rover"),
        ("Rio\x7f", "Rio"),
        ("Rio\ud800", "Rio"),
        ("Rio\udfff X", "Rio X"),
        ("Land\tRover\nSport\x0bX\x1fY", "Land Rover Sport X Y"),
    ],
)
def test_clean_text_strips_control_characters(value, expected):
    assert clean_text(value) == expected


def test_names_with_nul_and_surrogates_cleaned():
    result = normalize(sale(company="Kia\x00", car_model="\ud83dRio\x00"))

    assert isinstance(result, SaleRecord)
    assert result.company == "Kia"
    assert result.car_model == "Rio"


def test_name_of_control_characters_only_rejected():
    result = normalize(sale(company="\x00\x01\x02"))

    assert isinstance(result, Rejection)
    assert result.reason == "company is empty"


@pytest.mark.parametrize("record_id", ["A1\x00", "A\ud8001"])
def test_id_with_control_character_rejected(record_id):
    result = normalize(sale(id=record_id))

    assert isinstance(result, Rejection)
    assert result.reason.startswith("id ")
    assert result.reason.endswith(" contains a control character")
    assert "\x00" not in result.reason


def test_rejected_raw_text_escapes_nul():
    rejection = Rejection(3, "Kia\x00,Rio,x,y", "price is empty")

    assert rejection.raw == "Kia\\x00,Rio,x,y"


def test_rejection_reason_shows_long_value_cut():
    result = normalize(sale(sale_date="2023-" + "9" * 5000))

    assert isinstance(result, Rejection)
    assert len(result.reason) < 200
    assert "…" in result.reason


def test_missing_column_message_lists_first_columns():
    row = {f"column{number}": "1" for number in range(5000)}

    with pytest.raises(SourceError) as caught:
        normalize(row)

    message = str(caught.value)
    assert "columns are: column0, column1, " in message
    assert "column29 and 4,970 more." in message
    assert len(message) < 1000


def test_record_key_without_id_big_integer_and_surrogate():
    record = make_record()
    first = raw_of(company="Kia", vin=2**80, note="\ud800")
    second = raw_of(company="Kia", vin=2**80 + 1, note="\ud800")

    assert record_key("s", record, first) != record_key("s", record, second)
    assert record_key("s", record, first) == record_key("s", record, first)


def test_rejection_reason_long_price_cut():
    result = normalize(sale(price="1" * 100_000 + "x", sale_date="x" * 100_000))

    assert isinstance(result, Rejection)
    assert result.reason.startswith("sale_date 'xxx")
    assert "; price '111" in result.reason
    assert len(result.reason) < 500
