"""Columnar CSV path: the same sales, keys, rejections and warnings as the record path.

Each test reads a file both ways and compares everything the worker stores.
That is the normalised fields of each sale with its record key, each rejection
with its line and reason, the warnings, the count of rows read and the bytes
read. Small
chunk sizes put chunk boundaries inside quoted values, bad rows and CRLF pairs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from sources import Normalizer, SourceError, open_records, record_key
from sources.column_values import price_cents
from sources.columnar import open_csv_columns
from sources.records import Rejection
from sources.spec import SourceSpec

from .helpers import CASES, REAL, REAL_OTHER

DATA = REAL.parent
IDENTITY = "csv:file:test.csv"
HEADER = "id,company,car_model,sale_date,price\n"
CHUNK_SIZES = (None, 4096, 97)
REPORT_MAPPING = {
    "company": "Company",
    "car_model": "Model",
    "sale_date": "Date",
    "price": "Price ($)",
}
VEHICLE_MAPPING = {
    "company": "make",
    "car_model": "model",
    "sale_date": "saledate",
    "price": "sellingprice",
}


@dataclass
class Reading:
    """What one read of a source gives the worker."""

    sales: list[tuple]
    rejections: list[tuple[int | None, str, str]]
    warnings: list[str]
    rows_read: int
    bytes_read: int
    error: str | None = None


def read_records(spec: SourceSpec) -> Reading:
    """Read ``spec`` through the record path, as the worker did before columns."""
    reading = Reading([], [], [], 0, 0)
    normalizer = Normalizer(spec)
    try:
        with open_records(spec) as stream:
            for item in stream:
                reading.rows_read += 1
                raw = item
                if not isinstance(item, Rejection):
                    item = normalizer.normalize(raw)
                if isinstance(item, Rejection):
                    reading.rejections.append((item.line_no, item.raw, item.reason))
                    continue
                day = item.sale_date
                reading.sales.append(
                    (
                        record_key(IDENTITY, item, raw),
                        item.source_record_id,
                        item.company,
                        item.car_model,
                        item.sold_at.isoformat(" "),
                        item.utc_offset_minutes,
                        day.isoformat(),
                        day.year * 100 + day.month,
                        price_cents(item.price),
                        item.currency,
                    )
                )
            reading.warnings = list(stream.warnings)
            reading.bytes_read = stream.bytes_read
    except SourceError as exc:
        reading.error = str(exc)
    return reading


def read_columns(spec: SourceSpec, chunk_bytes: int | None = None) -> Reading:
    """Read ``spec`` through the columnar path; fail the test if it is refused."""
    reading = Reading([], [], [], 0, 0)
    stream = open_csv_columns(
        spec, spec.path, Normalizer(spec), IDENTITY, chunk_bytes=chunk_bytes
    )
    assert stream is not None, f"{spec.path} was not opened in columns"
    try:
        with stream:
            for batch in stream:
                reading.rows_read += batch.rows_read
                reading.sales.extend(
                    tuple(row.values()) for row in batch.sales.to_pylist()
                )
                reading.rejections.extend(
                    (item.line_no, item.raw, item.reason) for item in batch.rejections
                )
            reading.warnings = list(stream.warnings)
            reading.bytes_read = stream.bytes_read
    except SourceError as exc:
        reading.error = str(exc)
    return reading


def assert_same(spec: SourceSpec, chunk_sizes=CHUNK_SIZES) -> Reading:
    """Check that every chunk size gives what the record path gives.

    When the read fails, the columnar path has handed over only the chunks
    before the failing one, so its rows are a prefix of the record path's.
    """
    expected = read_records(spec)
    for chunk_bytes in chunk_sizes:
        found = read_columns(spec, chunk_bytes)
        assert found.error == expected.error, chunk_bytes
        if expected.error is not None:
            assert found.sales == expected.sales[: len(found.sales)], chunk_bytes
            rejected = len(found.rejections)
            assert found.rejections == expected.rejections[:rejected], chunk_bytes
            continue
        assert found.rejections == expected.rejections, chunk_bytes
        assert found.warnings == expected.warnings, chunk_bytes
        assert found.rows_read == expected.rows_read, chunk_bytes
        assert found.sales == expected.sales, chunk_bytes
        assert found.bytes_read == expected.bytes_read, chunk_bytes
    return expected


def csv_file(tmp_path: Path, text: str, name: str = "test.csv", **spec) -> SourceSpec:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return SourceSpec(kind="csv", path=str(path), **spec)


@pytest.mark.parametrize(
    "name", sorted(path.name for path in CASES.glob("*.csv")), ids=str
)
def test_case_files_match_record_path(name):
    assert_same(SourceSpec(kind="csv", path=str(CASES / name)))


@pytest.mark.parametrize(
    "options",
    [
        {"decimal": ",", "thousands": "."},
        {"decimal": ","},
        {"delimiter": ";", "decimal": ",", "thousands": "."},
        {"decimal": ",", "thousands": ".", "currency": "EUR"},
    ],
    ids=["thousands", "decimal-only", "delimiter-set", "currency"],
)
def test_decimal_comma_options_match(options):
    path = CASES / "csv_semicolon_decimal_comma.csv"
    expected = assert_same(SourceSpec(kind="csv", path=str(path), **options))
    assert expected.sales or expected.rejections


@pytest.mark.parametrize("encoding", ["auto", "cp1252", "utf-8"])
def test_cp1252_file_matches_each_encoding(encoding):
    spec = SourceSpec(kind="csv", path=str(CASES / "csv_cp1252.csv"))
    spec.encoding = encoding
    if encoding == "cp1252":
        assert open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY) is None
        return
    expected = assert_same(spec)
    if encoding == "utf-8":
        assert "not valid UTF-8 at line 2 (byte 0xEB)" in expected.error
    else:
        assert len(expected.sales) == 4


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("sample_data_b.csv", {}),
        ("real/car_sales_report.csv", {}),
        ("real/car_sales_report.csv", REPORT_MAPPING),
        ("real/vehicle_sales_sample.csv", {}),
        ("real/vehicle_sales_sample.csv", VEHICLE_MAPPING),
    ],
    ids=["sample", "report", "report-mapped", "vehicles", "vehicles-mapped"],
)
def test_data_files_match_record_path(name, mapping):
    spec = SourceSpec(kind="csv", path=str(DATA / name), mapping=mapping)
    expected = assert_same(spec, chunk_sizes=(None, 65536))
    assert len(expected.sales) > 300


def test_day_first_order_matches():
    spec = SourceSpec(
        kind="csv", path=str(REAL / "car_sales_report.csv"), date_order="dmy"
    )
    expected = assert_same(spec, chunk_sizes=(None,))
    assert expected.rejections


def test_norway_file_goes_to_record_path():
    # It has no price column, so the record path raises at the first record.
    spec = SourceSpec(kind="csv", path=str(REAL_OTHER / "norway_by_model.csv"))

    assert open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY) is None


def test_clean_file_read_in_columns(tmp_path):
    rows = [
        f"S{n:05d},Kia,Ceed,2023-05-{n % 28 + 1:02d} 10:00:00,1{n}.50\n"
        for n in range(2000)
    ]
    spec = csv_file(tmp_path, HEADER + "".join(rows))
    stream = open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY, 8192)

    with stream:
        batches = list(stream)

    assert stream.columnar_chunks == len(batches) > 1
    assert stream.record_chunks == 0
    assert sum(batch.sales.num_rows for batch in batches) == 2000
    assert read_columns(spec, 8192).sales == read_records(spec).sales


def generated_rows(count: int) -> list[str]:
    companies = ["Kia", "BMW", " Toyota ", "MERCEDES-BENZ", "vw", "Škoda"]
    models = ["Ceed", "X1", "Corolla", "  A-Klasse ", "Golf"]
    rows = []
    for number in range(count):
        day = f"2023-{number % 12 + 1:02d}-{number % 28 + 1:02d}"
        time = f"{number % 24:02d}:{number % 60:02d}:{(number * 7) % 60:02d}"
        rows.append(
            f"S{number:06d},{companies[number % 6]},{models[number % 5]},"
            f"{day} {time},{10000 + number * 3 % 5000}.{number % 100:02d}\n"
        )
    return rows


BAD_ROWS = {
    40: "S-BAD1,Kia,Ceed,2023-01-01,abc\n",
    41: "S-BAD2,Kia,Ceed,2023-02-30,12000\n",
    42: "S-BAD3,,Ceed,2023-01-02,12000\n",
    43: "S-BAD4,Kia,Ceed,2023-01-03\n",
    44: "S-BAD5,Kia,Ceed,2023-01-04,12000,extra\n",
    45: 'S-BAD6,Kia,"Ceed\nSW",2023-01-05,12000\n',
    46: "S-BAD7,Kia,Ceed,2023-01-06,0\n",
    47: "S-BAD8,Kia,Ceed,2023-01-07,-5\n",
    48: ",,,,\n",
    49: "\n",
    50: "   \n",
    51: ' S-BAD9 ,Kia,Ceed,1/31/2023,"$12,500.00"\n',
    52: "S-BAD10,Kia,Ceed,2023-01-08T09:30,12000.5\n",
    53: "S-BAD11,Kia,Ceed,2023-01-08T09:30:00+02:00,12000.555\n",
    54: "S-BAD12,Kia,Ceed,2101-01-01,12000\n",
    55: "S-BAD13,Kia,Ceed,2023-01-09 24:00:00,12000\n",
    56: ",Kia,Ceed,2023-01-10,12000\n",
    57: 'S-BAD14,Kia,"Ceed ""GT""",2023-01-11,12000\n',
}


def bad_rows_file(count: int = 3000) -> str:
    rows = generated_rows(count)
    for position, row in BAD_ROWS.items():
        rows.insert(position * 50, row)
    return HEADER + "".join(rows)


def test_generated_bad_rows_match(tmp_path):
    spec = csv_file(tmp_path, bad_rows_file())

    expected = assert_same(spec)

    assert len(expected.rejections) == 9
    assert expected.warnings == ["Skipped 2 rows whose fields were all empty."]


def test_bad_rows_lines_follow_quoted_newline(tmp_path):
    spec = csv_file(tmp_path, bad_rows_file())

    reading = read_columns(spec, 4096)

    lines = {line: reason for line, _, reason in reading.rejections}
    # Data row n starts on line n + 2 up to the quoted newline on lines 2252
    # and 2253, and on line n + 3 after it.
    assert lines[2002] == "price 'abc' is not a number (decimal mark '.')"
    assert lines[2152] == "4 fields, expected 5"
    assert lines[2202] == "6 fields, expected 5"
    assert lines[2303] == "price '0' is not above 0"
    assert 2252 not in lines


def test_cp1252_byte_mid_file_matches(tmp_path):
    text = bad_rows_file().encode()
    position = text.index(b"S001500,")
    data = (
        text[:position]
        + "S-ACC,Citroën,C4,2023-03-03,15000\n".encode("cp1252")
        + text[position:]
    )
    spec = csv_file(tmp_path, data)

    expected = assert_same(spec)

    assert expected.warnings[0].startswith("Line 1502 is not valid UTF-8 (byte 0xEB)")
    assert any(sale[2] == "Citroën" for sale in expected.sales)


def test_cp1252_byte_mid_file_forced_utf8_fails_alike(tmp_path):
    text = bad_rows_file().encode()
    position = text.index(b"S002500,")
    data = text[:position] + "S-ACC,Citroën,C4,2023-03-03,1\n".encode("cp1252")
    data += text[position:]
    spec = csv_file(tmp_path, data, encoding="utf-8")

    expected = assert_same(spec)

    assert "not valid UTF-8 at line 2514 (byte 0xEB)" in expected.error


def test_crlf_bom_and_no_final_newline_match(tmp_path):
    text = "\ufeff" + bad_rows_file().replace("\n", "\r\n").rstrip("\r\n")
    spec = csv_file(tmp_path, text)

    expected = assert_same(spec)

    assert expected.sales[-1][1] == "S002999"
    assert len(expected.rejections) == 9


def test_blank_lines_before_header_keep_record_lines(tmp_path):
    spec = csv_file(tmp_path, "\n  \n" + HEADER + "1,Kia,Rio,2023-01-01,x\n")

    expected = assert_same(spec)

    assert expected.rejections[0][0] == 2


def test_lone_carriage_return_fails_alike(tmp_path):
    text = HEADER + "".join(generated_rows(200)) + "7,Kia,Rio\r,2023-01-01,1\n"
    spec = csv_file(tmp_path, text)

    expected = assert_same(spec)

    assert "the row starting at line 202 is not valid CSV" in expected.error


def test_quoted_value_across_chunks_matches(tmp_path):
    rows = generated_rows(300)
    long_model = '"' + "line\n" * 20 + 'end"'
    rows[150] = f"S-LONG,Kia,{long_model},2023-01-01,15000\n"
    spec = csv_file(tmp_path, HEADER + "".join(rows))

    expected = assert_same(spec, chunk_sizes=(None, 128, 4096))

    assert expected.sales[150][3].startswith("line line")


def test_field_over_size_limit_fails_alike(tmp_path):
    rows = generated_rows(100)
    rows[50] = "S-HUGE,Kia," + "x" * 140_000 + ",2023-01-01,1\n"
    spec = csv_file(tmp_path, HEADER + "".join(rows))

    expected = assert_same(spec, chunk_sizes=(None, 65536))

    assert "field larger than field limit" in expected.error


def test_unusual_values_match(tmp_path):
    rows = [
        "  7  ,Kia,Rio,2023-01-01,100\n",
        "\t8,Kia,Rio,2023-01-01,100\n",
        '"9\u00a0",Kia,Rio,2023-01-01,100\n',
        f"{'1' * 129},Kia,Rio,2023-01-01,100\n",
        f"{'2' * 128},Kia,Rio,2023-01-01,100\n",
        "   ,Kia,Rio,2023-01-01,100\n",
        "10,Kia," + "M" * 121 + ",2023-01-01,100\n",
        "11,kia motors,RIO,2023-01-01,100\n",
        "12,Ki\u0301a,Rio,2023-01-01,100\n",
        "13,Kia,Rio,2023-01-01,100.005\n",
        "14,Kia,Rio,2023-01-01,999999999999.99\n",
        "15,Kia,Rio,2023-01-01,1000000000000\n",
        "16,Kia,Rio,2023-01-01,0.001\n",
        "17,Kia,Rio,2023-01-01, 100 \n",
        "18,Kia,Rio,2023-01-01,1e3\n",
        "19,Kia,Rio,2023-01-01,٣٤\n",
        "20,Kia,Rio,1700000000,100\n",
        "21,Kia,Rio,2024-02-29,100\n",
        "22,Kia,Rio,2023-02-29,100\n",
        "23,Kia,Rio,1900-01-01 00:00,100\n",
        "24,Kia,Rio,2023-06-01T12:00:00.250,100\n",
        "25,Kia,Rio,Tue Dec 16 2014 12:30:00 GMT-0800 (PST),100\n",
        "26,Kia,Rio,2023-06-01Z,100\n",
        "27,Kia,Rio,20230601,100\n",
        "2\x018,Kia,Rio,2023-01-01,100\n",
        "29,Ki\x7fa,Ri\x1bo,2023-01-01,100\n",
        "3\u00850,Kia,Rio,2023-01-01,100\n",
    ]
    spec = csv_file(tmp_path, HEADER + "".join(rows))

    expected = assert_same(spec)

    assert len(expected.sales) + len(expected.rejections) == len(rows)


@pytest.mark.parametrize("currency", [None, "GBP"])
def test_currency_column_matches(tmp_path, currency):
    codes = ["", "eur", "€", "XX", " usd ", "", "$", "EURO"]
    rows = [
        f"{number},Kia,Rio,2023-01-0{number % 9 + 1},100,{code}\n"
        for number, code in enumerate(codes * 3)
    ]
    text = "id,company,car_model,sale_date,price,currency\n" + "".join(rows)
    spec = csv_file(tmp_path, text, currency=currency)

    expected = assert_same(spec)

    assert {sale[-1] for sale in expected.sales} == {currency, "EUR", "USD"}
    assert len(expected.rejections) == 6


def test_nul_characters_match(tmp_path):
    rows = generated_rows(20)
    rows[5] = "S\x00X,Kia,Ri\x00o,2023-01-01,100\n"
    rows[6] = "S-NUL,Kia,Rio,2023-01-01,1\x00\n"
    spec = csv_file(tmp_path, HEADER + "".join(rows))

    expected = assert_same(spec)

    assert expected.rejections[0][1] == "S\\x00X,Kia,Ri\\x00o,2023-01-01,100"


def test_content_keys_match_without_id_column(tmp_path):
    rows = [
        'Kia,Rio,2023-01-01,100,"say ""hi"""\n',
        "Kia,Rio,2023-01-01,100,back\\slash\n",
        'Kia,Rio,2023-01-01,100,"tab\there"\n',
        "Kia,Rio,2023-01-01,100,ünïcödé 😀\n",
        "Kia,Rio,2023-01-01,100,plain\n",
        "Kia,Rio,2023-01-01,100,plain\n",
        "Kia,Rio,2023-01-01,100,\u2028\x7f\n",
    ]
    text = "make,model,date,price,Ünder note\n" + "".join(rows)
    spec = csv_file(tmp_path, text)

    expected = assert_same(spec)

    keys = [sale[0] for sale in expected.sales]
    assert len(set(keys)) == 6


def test_repeated_header_names_match(tmp_path):
    text = "id,company,car_model,sale_date,price,price,,price\n"
    text += "".join(row.rstrip("\n") + ",1,,2\n" for row in generated_rows(50))
    spec = csv_file(tmp_path, text)

    expected = assert_same(spec)

    assert len(expected.warnings) == 1


def test_other_delimiters_match(tmp_path):
    for delimiter in ("\t", "|", ";"):
        rows = [row.replace(",", delimiter) for row in generated_rows(100)]
        header = HEADER.replace(",", delimiter)
        spec = csv_file(tmp_path, header + "".join(rows), name=f"d{ord(delimiter)}.csv")

        expected = assert_same(spec)

        assert len(expected.sales) == 100


def fuzzed_field(rng: random.Random, delimiter: str) -> str:
    pieces = ["Kia", "a b", " ", "", '"', '""', delimiter, "\n", "é", "\u00a0", "x\r"]
    value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
    style = rng.random()
    if style < 0.5 and not any(char in value for char in '"\n\r' + delimiter):
        return value
    if style < 0.9:
        return '"' + value.replace('"', '""') + '"'
    # An unquoted field may hold quotes after its first character.
    return "a" + value.replace("\n", "").replace("\r", "")


def test_fuzzed_rows_match(tmp_path):
    rng = random.Random(20231201)
    lines = []
    for number in range(1500):
        fields = [f"F{number}", "Kia", "Ceed", "2023-01-01", "12000"]
        for position in rng.sample(range(5), rng.randint(0, 2)):
            fields[position] = fuzzed_field(rng, ",")
        if rng.random() < 0.05:
            fields.append(fuzzed_field(rng, ","))
        if rng.random() < 0.05:
            fields.pop()
        ending = "\r\n" if rng.random() < 0.3 else "\n"
        lines.append(",".join(fields) + ending)
    spec = csv_file(tmp_path, HEADER + "".join(lines))

    expected = assert_same(spec, chunk_sizes=(None, 4096, 512, 61))

    assert expected.sales
    assert expected.rejections


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("", {}),
        ("\n\n", {}),
        ('id,"company\nname",car_model,sale_date,price\n1,Kia,Rio,2023-01-01,1\n', {}),
        ("only\n1\n", {}),
        (HEADER + "1,Kia,Rio,2023-01-01,1\n", {"delimiter": "§"}),
        (HEADER + "1,Kia,Rio,2023-01-01,1\n", {"encoding": "latin-1"}),
        ("company,car_model,sale_date\nKia,Rio,2023-01-01\n", {}),
    ],
    ids=[
        "empty",
        "blank",
        "header-newline",
        "one-column",
        "delimiter",
        "latin-1",
        "no-price",
    ],
)
def test_unsuitable_files_left_to_record_path(tmp_path, text, options):
    spec = csv_file(tmp_path, text, **options)

    assert open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY) is None


def test_utf16_file_left_to_record_path(tmp_path):
    spec = csv_file(tmp_path, (HEADER + "1,Kia,Rio,2023-01-01,1\n").encode("utf-16"))

    assert open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY) is None


def test_missing_file_fails_like_record_path(tmp_path):
    spec = SourceSpec(kind="csv", path=str(tmp_path / "gone.csv"))

    with pytest.raises(SourceError) as columns:
        open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY)
    with pytest.raises(SourceError) as records:
        open_records(spec)

    assert str(columns.value) == str(records.value)


def test_too_wide_header_fails_like_record_path(tmp_path):
    header = ",".join(f"c{number}" for number in range(10_001))
    spec = csv_file(tmp_path, header + "\n1,2\n")

    with pytest.raises(SourceError) as columns:
        open_csv_columns(spec, spec.path, Normalizer(spec), IDENTITY)
    records = read_records(spec)

    assert str(columns.value) == records.error
    assert "10,001 columns" in records.error


def test_header_only_file_yields_nothing(tmp_path):
    spec = csv_file(tmp_path, HEADER)

    reading = read_columns(spec)

    assert reading == read_records(spec)
    assert reading.bytes_read == len(HEADER)
