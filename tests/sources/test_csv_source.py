"""CSV reader: the field cases for encodings, delimiters, quoting and bad rows."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sources import Normalizer, SourceError, open_records
from sources.columnar import open_csv_columns
from sources.csv_source import detect_delimiter
from sources.records import RawRecord, Rejection

from .helpers import REAL, REAL_OTHER, csv_spec, read_source


def raw_items(spec) -> list:
    with open_records(spec) as stream:
        return list(stream)


def test_bom_quoted_header_maps_every_column():
    items = raw_items(csv_spec("csv_bom_quoted_header.csv"))

    assert list(items[0].data) == ["id", "company", "car_model", "sale_date", "price"]


def test_bom_quoted_header_loads_three():
    outcome = read_source(csv_spec("csv_bom_quoted_header.csv"))

    assert len(outcome.records) == 3
    assert outcome.rejections == []
    honda = outcome.by_id()["2"]
    assert honda.company == "Honda"
    assert honda.car_model == "Civic"
    assert honda.sale_date == date(2023, 2, 3)
    assert honda.price == Decimal("23950.50")


def test_bom_stripped_from_real_vehicle_file():
    with open_records(csv_spec(REAL / "vehicle_sales_sample.csv")) as stream:
        first = next(iter(stream))

    assert "year" in first.data
    assert "\ufeffyear" not in first.data


def test_semicolon_decimal_comma_loads_four():
    spec = csv_spec("csv_semicolon_decimal_comma.csv", decimal=",", thousands=".")

    outcome = read_source(spec)

    assert outcome.rejections == []
    records = outcome.by_id()
    assert records["1"].company == "Škoda"
    assert records["1"].car_model == "Octavia Combi"
    assert records["1"].sale_date == date(2023, 1, 15)
    assert records["1"].price == Decimal("23450.50")
    assert records["2"].company == "Citroën"
    assert records["2"].price == Decimal("14999.00")
    assert records["3"].price == Decimal("104300.00")
    assert records["4"].price == Decimal("17999.90")


def test_semicolon_delimiter_set_explicitly():
    spec = csv_spec(
        "csv_semicolon_decimal_comma.csv", delimiter=";", decimal=",", thousands="."
    )

    assert len(read_source(spec).records) == 4


def test_decimal_comma_without_thousands_rejects_dotted():
    outcome = read_source(csv_spec("csv_semicolon_decimal_comma.csv", decimal=","))

    assert [record.source_record_id for record in outcome.records] == ["4"]
    assert outcome.records[0].price == Decimal("17999.90")
    expected = {2: "23.450,50", 3: "14.999,00", 4: "104.300,00"}
    for line_no, value in expected.items():
        rejection = outcome.rejection_at(line_no)
        assert rejection.reason == f"price {value!r} is not a number (decimal mark ',')"
        assert value in rejection.raw


def test_quoted_newline_keeps_three_records():
    outcome = read_source(csv_spec("csv_quoted_newline.csv"))

    assert len(outcome.records) == 3
    assert outcome.by_id()["1"].car_model == "Focus Estate"


def test_quoted_newline_line_numbers():
    items = raw_items(csv_spec("csv_quoted_newline.csv"))

    assert [item.line_no for item in items] == [2, 5, 6]
    assert items[0].data["car_model"] == "Focus\nEstate"
    assert items[0].raw.startswith('1,Ford,"Focus\nEstate"')
    assert items[1].data["notes"] == 'has "quotes" and, a comma'


def test_leading_zeros_ids_kept_as_text():
    outcome = read_source(csv_spec("csv_leading_zeros.csv"))

    assert [r.source_record_id for r in outcome.records] == ["007", "7", "0042"]
    assert len(set(outcome.keys)) == 3


def test_leading_zeros_extra_column_kept():
    items = raw_items(csv_spec("csv_leading_zeros.csv"))

    assert items[0].data["dealer_code"] == "06457"
    assert items[2].data["dealer_code"] == "00123"


@pytest.mark.parametrize("encoding", ["auto", "cp1252", "windows-1252"])
def test_cp1252_file_decodes(encoding):
    outcome = read_source(csv_spec("csv_cp1252.csv", encoding=encoding))

    companies = [record.company for record in outcome.records]
    assert companies == ["Citroën", "Škoda", "Renault", "Mercedes-Benz"]
    assert outcome.by_id()["3"].car_model == "Mégane"


def test_cp1252_auto_warns_with_line():
    outcome = read_source(csv_spec("csv_cp1252.csv"))

    assert len(outcome.warnings) == 1
    assert "Line 2 is not valid UTF-8 (byte 0xEB)" in outcome.warnings[0]


def test_cp1252_forced_utf8_fails():
    with pytest.raises(SourceError) as caught:
        read_source(csv_spec("csv_cp1252.csv", encoding="utf-8"))

    message = str(caught.value)
    assert "not valid UTF-8 at line 2 (byte 0xEB); try cp1252 or latin-1" in message
    assert "�" not in message


def test_norway_file_falls_back_at_line_1576():
    items = raw_items(csv_spec(REAL_OTHER / "norway_by_model.csv"))

    assert len(items) == 2694
    assert all(isinstance(item, RawRecord) for item in items)
    line = [item for item in items if item.line_no == 1576]
    assert line[0].data["Make"] == "\u00a0Mercedes-Benz "
    assert line[0].data["Model"] == "\u00a0Mercedes-Benz A-klasse"
    assert [item.line_no for item in items] == list(range(2, 2696))


def test_norway_file_warning_names_line():
    with open_records(csv_spec(REAL_OTHER / "norway_by_model.csv")) as stream:
        count = sum(1 for _ in stream)
        warnings = list(stream.warnings)

    assert count == 2694
    assert len(warnings) == 1
    assert "Line 1576 is not valid UTF-8 (byte 0xA0)" in warnings[0]


def test_norway_file_forced_utf8_names_line():
    with pytest.raises(SourceError) as caught:
        raw_items(csv_spec(REAL_OTHER / "norway_by_model.csv", encoding="utf-8"))

    assert "not valid UTF-8 at line 1576 (byte 0xA0)" in str(caught.value)


def test_whitespace_and_case_merge_companies():
    outcome = read_source(csv_spec("csv_whitespace_case.csv"))

    assert len(outcome.records) == 6
    counts = Counter(record.company for record in outcome.records)
    assert counts == {"Toyota": 1, "Mercedes-Benz": 3, "BMW": 2}
    assert outcome.by_id()["4"].car_model == "A-Klasse"


def test_truncated_last_row_rejected():
    outcome = read_source(csv_spec("csv_truncated_last_row.csv"))

    assert len(outcome.records) == 2
    assert len(outcome.rejections) == 1
    rejection = outcome.rejection_at(4)
    assert rejection.reason == "3 fields, expected 5"
    assert rejection.raw == "3,Dacia,Jog"


def test_formula_values_stored_verbatim():
    outcome = read_source(csv_spec("csv_formula_injection.csv"))

    records = outcome.by_id()
    assert len(records) == 6
    assert records["1"].company == "=1+2"
    assert records["2"].car_model == "@SUM(1;2)"
    assert records["3"].company == "+Opel"
    assert records["4"].car_model == "-Rio"
    assert records["5"].company == '=HYPERLINK("http://example.invalid/","x")'
    assert records["6"].car_model == "Rio"


def test_duplicate_rows_share_key():
    outcome = read_source(csv_spec("csv_duplicate_rows.csv"))

    ids = [record.source_record_id for record in outcome.records]
    assert ids == ["A1", "A1", "A2", "A3"]
    assert outcome.keys[0] == outcome.keys[1]
    assert len(set(outcome.keys)) == 3


def test_duplicate_rows_keys_stable_across_runs():
    first = read_source(csv_spec("csv_duplicate_rows.csv"))
    second = read_source(csv_spec("csv_duplicate_rows.csv"))

    assert first.keys == second.keys


def test_repeat_after_many_numeric_ids(tmp_path):
    path = tmp_path / "many.csv"
    lines = ["id,company,car_model,sale_date,price"]
    lines += [f"{n},Kia,Rio,2023-01-01,{10000 + n}" for n in range(1, 40_001)]
    lines += ["A-1,Kia,Rio,2023-01-02,9999", "17,Kia,Rio,2023-01-01,10017"]
    path.write_text("\n".join(lines) + "\n")

    outcome = read_source(csv_spec(path))

    assert len(outcome.records) == 40_002
    assert outcome.records[-2].source_record_id == "A-1"
    assert outcome.keys[-1] == outcome.keys[16]
    assert len(set(outcome.keys)) == 40_001


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id,company,price", ","),
        ("id;company;price", ";"),
        ("id\tcompany\tprice", "\t"),
        ("id|company|price", "|"),
        ('"a,b";c;d', ";"),
        ("single", ","),
    ],
)
def test_delimiter_detected_from_header(header, expected):
    assert detect_delimiter(header) == expected


@pytest.mark.parametrize("delimiter", ["\t", "|"])
def test_other_delimiters_read(tmp_path, delimiter):
    path = tmp_path / "sales.txt"
    rows = [
        ["company", "car_model", "sale_date", "price"],
        ["Kia", "Rio", "2023-01-01", "9000"],
    ]
    path.write_text("\n".join(delimiter.join(row) for row in rows) + "\n")

    outcome = read_source(csv_spec(path))

    assert outcome.records[0].company == "Kia"


def test_crlf_and_no_trailing_newline(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"company,car_model,sale_date,price\r\nKia,Rio,2023-01-01,9000")

    outcome = read_source(csv_spec(path))

    assert outcome.records[0].price == Decimal("9000.00")
    assert outcome.records[0].line_no == 2


def test_blank_rows_skipped(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(
        "company,car_model,sale_date,price\n\nKia,Rio,2023-01-01,9000\n,,,\n \n"
    )

    outcome = read_source(csv_spec(path))

    assert len(outcome.records) == 1
    assert outcome.records[0].line_no == 3
    assert outcome.warnings == ["Skipped 2 rows whose fields were all empty."]


def test_repeated_header_names_made_unique(tmp_path):
    path = tmp_path / "repeat.csv"
    path.write_text(
        "company,car_model,sale_date,price,price\nKia,Rio,2023-01-01,9,10\n"
    )

    items = raw_items(csv_spec(path))

    assert items[0].data["price"] == "9"
    assert items[0].data["price_5"] == "10"


def test_utf16_file_with_bom(tmp_path):
    path = tmp_path / "utf16.csv"
    text = "company,car_model,sale_date,price\r\nCitroën,C3,2023-01-01,9000\r\n"
    path.write_bytes(text.encode("utf-16"))

    outcome = read_source(csv_spec(path))

    assert outcome.records[0].company == "Citroën"


def test_empty_file_fails(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(SourceError) as caught:
        raw_items(csv_spec(path))

    assert "empty.csv is empty" in str(caught.value)


def test_header_only_yields_nothing(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("company,car_model,sale_date,price\n")

    assert raw_items(csv_spec(path)) == []


def test_missing_file_fails_on_open(tmp_path):
    with pytest.raises(SourceError) as caught:
        open_records(csv_spec(tmp_path / "gone.csv"))

    assert "File not found: gone.csv" in str(caught.value)


def test_upload_path_replaces_spec_path(tmp_path):
    upload = tmp_path / "upload-1"
    upload.write_text("company,car_model,sale_date,price\nKia,Rio,2023-01-01,9000\n")
    spec = csv_spec("csv_cp1252.csv")

    outcome = read_source(spec, upload_path=str(upload))

    assert [record.company for record in outcome.records] == ["Kia"]


def test_unclosed_quote_fails_with_line(tmp_path):
    path = tmp_path / "quote.csv"
    body = "company,car_model,sale_date,price\nKia,Rio,2023-01-01,9000\n"
    body += 'Kia,"Ceed,2023-01-01,9000\n' + ("x" * 1000 + "\n") * 200
    path.write_text(body)

    with pytest.raises(SourceError) as caught:
        raw_items(csv_spec(path))

    assert "the row starting at line 3 is not valid CSV" in str(caught.value)


def test_missing_price_column_fails_first_record(tmp_path):
    path = tmp_path / "noprice.csv"
    path.write_text("make,model,date,cost\nKia,Rio,2023-01-01,9000\n")

    with pytest.raises(SourceError) as caught:
        read_source(csv_spec(path))

    assert "no column for price; columns are: make, model, date, cost" in str(
        caught.value
    )


def test_progress_counts_bytes():
    spec = csv_spec("csv_bom_quoted_header.csv")

    outcome = read_source(spec)

    assert outcome.bytes_total == Path(spec.path).stat().st_size
    assert outcome.bytes_read == outcome.bytes_total


def test_stream_is_lazy(tmp_path):
    path = tmp_path / "lazy.csv"
    path.write_text(
        "company,car_model,sale_date,price\n" + "Kia,Rio,2023-01-01,9000\n" * 50_000
    )

    with open_records(csv_spec(path)) as stream:
        first = next(iter(stream))
        assert isinstance(first, RawRecord)
        assert stream.bytes_read < stream.bytes_total


def test_rejection_raw_limited(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("company,car_model,sale_date,price\n" + "x," * 2000 + "x\n")

    items = raw_items(csv_spec(path))

    assert isinstance(items[0], Rejection)
    assert len(items[0].raw) == 1001


def test_many_repeated_header_names_one_warning(tmp_path):
    path = tmp_path / "wide.csv"
    header = "company,car_model,sale_date,price" + ",x" * 5000 + ",y,y,z,z"
    row = "Kia,Rio,2023-01-01,9000" + ",1" * 5004
    path.write_text(f"{header}\n{row}\n")

    outcome = read_source(csv_spec(path))

    assert len(outcome.records) == 1
    assert len(outcome.warnings) == 1
    warning = outcome.warnings[0]
    assert warning.startswith("5,001 columns repeat names ('x', 'y', 'z'), so ")
    assert "such as 'x_6' for 'x'" in warning
    assert len(warning) < 300


def test_repeated_names_warning_lists_few_examples(tmp_path):
    path = tmp_path / "repeats.csv"
    names = [f"c{number}" for number in range(40)]
    header = ",".join(["company", "car_model", "sale_date", "price", *names, *names])
    path.write_text(f"{header}\nKia,Rio,2023-01-01,9000{',1' * 80}\n")

    outcome = read_source(csv_spec(path))

    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith(
        "40 columns repeat names ('c0', 'c1', 'c2', 'c3', 'c4', ...), so "
    )


def test_header_wider_than_limit_rejected(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("company,car_model,sale_date,price" + ",x" * 1_000_000 + "\n")

    with pytest.raises(SourceError) as caught:
        raw_items(csv_spec(path))

    message = str(caught.value)
    assert "the header row has 1,000,004 columns, more than the limit of 10,000" in (
        message
    )
    assert len(message) < 300


def test_header_limit_counts_quoted_delimiters_once(tmp_path):
    path = tmp_path / "quoted.csv"
    header = "company,car_model,sale_date,price," + '"a' + "," * 20_000 + 'b"'
    path.write_text(f"{header}\nKia,Rio,2023-01-01,9000,1\n")

    outcome = read_source(csv_spec(path))

    assert len(outcome.records) == 1


def test_header_limit_applies_after_parsing(tmp_path):
    path = tmp_path / "multiline.csv"
    header = '"company\n' + ",x" * 10_001 + '",' + ",x" * 10_001
    path.write_text(f"{header}\n")

    with pytest.raises(SourceError) as caught:
        raw_items(csv_spec(path))

    assert "the header row has 10,003 columns" in str(caught.value)


def test_header_at_limit_read(tmp_path):
    path = tmp_path / "limit.csv"
    header = "company,car_model,sale_date,price" + "".join(
        f",c{number}" for number in range(9_996)
    )
    path.write_text(f"{header}\nKia,Rio,2023-01-01,9000{',1' * 9_996}\n")

    outcome = read_source(csv_spec(path))

    assert len(outcome.records) == 1
    assert outcome.warnings == []


def test_wide_header_rejected_by_column_reader(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("company,car_model,sale_date,price" + ",x" * 20_000 + "\n")
    spec = csv_spec(path)

    with pytest.raises(SourceError) as caught:
        open_csv_columns(spec, str(path), Normalizer(spec), "test-source")

    assert "more than the limit of 10,000" in str(caught.value)
