"""JSON reader: arrays, objects with a records path, NDJSON, exact numbers, errors."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from sources import HttpSettings, SourceError, open_records
from sources.json_scan import JsonScanner
from sources.records import RawRecord, Rejection
from sources.spec import SourceSpec
from tests.support.httpserver import json_reply, text_reply

from .helpers import CASES, REAL_OTHER, json_spec, read_source

LOCAL = HttpSettings(allowed_networks=["127.0.0.1"], retries=0, backoff=0.001)


def raw_items(spec, **kwargs) -> list:
    with open_records(spec, **kwargs) as stream:
        return list(stream)


def test_object_with_records_path_loads():
    outcome = read_source(
        json_spec("json_top_level_object.json", records_path="data.sales")
    )

    assert len(outcome.records) == 2
    accord = [r for r in outcome.records if r.car_model == "Accord"][0]
    assert accord.price == Decimal("26500.50")
    assert outcome.rejections == []


def test_object_without_path_fails_naming_list():
    with pytest.raises(SourceError) as caught:
        read_source(json_spec("json_top_level_object.json"))

    assert (
        "top-level JSON is an object; set the records path (found a list at data.sales)"
        in str(caught.value)
    )


def test_object_without_any_list_fails(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{\n  "company": "Kia",\n  "price": 1\n}\n')

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path))

    assert "top-level JSON is an object with no list of records" in str(caught.value)


@pytest.mark.parametrize(
    ("records_path", "message"),
    [
        (
            "data.rows",
            "'data.rows' was not found: data has no key 'rows' (its keys are: sales)",
        ),
        ("meta.page", "the records path 'meta.page' points to a number, not a list"),
        ("status.sales", "'status.sales' was not found because status is a string"),
        (
            "nothing",
            "the top level has no key 'nothing' (its keys are: status, meta, data)",
        ),
    ],
)
def test_bad_records_path_fails(records_path, message):
    with pytest.raises(SourceError) as caught:
        raw_items(json_spec("json_top_level_object.json", records_path=records_path))

    assert message in str(caught.value)


def test_records_path_on_array_fails():
    with pytest.raises(SourceError) as caught:
        raw_items(json_spec("json_big_numbers.json", records_path="data"))

    assert "top-level JSON is a list, so the records path 'data' does not apply" in str(
        caught.value
    )


def test_ndjson_detected_and_read():
    outcome = read_source(json_spec("json_ndjson.json"))

    assert [r.car_model for r in outcome.records] == ["Camry", "Civic", "CX-30"]
    assert len(outcome.rejections) == 1
    rejection = outcome.rejection_at(4)
    assert rejection.raw.startswith('{"company": "Kia"')
    assert rejection.raw.endswith("31000,}")
    assert rejection.reason.startswith("invalid JSON (expected a key in double quotes")


def test_ndjson_line_numbers_count_blank_lines():
    items = raw_items(json_spec("json_ndjson.json"))

    assert [item.line_no for item in items] == [1, 3, 4, 5]


def test_ndjson_forced_format(tmp_path):
    path = tmp_path / "one.ndjson"
    path.write_text(
        '{"company": "Kia", "car_model": "Rio", "sale_date": "2023-01-01", '
        '"price": 9}\n'
    )

    with pytest.raises(SourceError) as caught:
        read_source(json_spec(path))
    assert "set the format to ndjson" in str(caught.value)

    outcome = read_source(json_spec(path, format="ndjson"))
    assert [r.company for r in outcome.records] == ["Kia"]


def test_ndjson_non_object_line_rejected(tmp_path):
    path = tmp_path / "mixed.ndjson"
    path.write_text('{"a": 1}\n[1, 2]\n"text"\n')

    items = raw_items(json_spec(path, format="ndjson"))

    assert isinstance(items[0], RawRecord)
    assert items[1].reason == "the record is a list, not an object"
    assert items[2].reason == "the record is a string, not an object"


def test_ndjson_with_bad_first_line_detected(tmp_path):
    path = tmp_path / "bad-first.ndjson"
    path.write_text('{"a": 1,}\n{"a": 2}\n')

    items = raw_items(json_spec(path))

    assert isinstance(items[0], Rejection)
    assert items[1].data == {"a": 2}


def test_big_numbers_exact():
    outcome = read_source(json_spec("json_big_numbers.json"))

    assert len(outcome.records) == 3
    first, second, third = outcome.records
    assert first.source_record_id == "9007199254740993"
    assert first.price == Decimal("36990.10")
    assert second.source_record_id == "9007199254740993"
    assert outcome.keys[0] == outcome.keys[1]
    assert third.source_record_id == "9007199254740992"
    assert outcome.keys[2] != outcome.keys[0]
    assert third.price == Decimal("100000.00")
    assert len(outcome.rejections) == 1
    assert outcome.rejections[0].reason.startswith("price out of range")


def test_json_numbers_never_floats():
    items = raw_items(json_spec("json_big_numbers.json"))

    assert items[0].data["price"] == Decimal("36990.10")
    assert isinstance(items[0].data["price"], Decimal)
    assert items[0].data["id"] == 9007199254740993


def test_truncated_footer_fails_before_any_record():
    with open_records(json_spec("json_truncated_footer.json")) as stream:
        iterator = iter(stream)
        with pytest.raises(SourceError) as caught:
            next(iterator)

    assert "invalid JSON at line 4, column 1 (expected a value)" in str(caught.value)
    assert "JSONDecodeError" not in str(caught.value)
    assert "Expecting" not in str(caught.value)


def test_corrupted_real_file_fails_at_line_121():
    with pytest.raises(SourceError) as caught:
        read_source(json_spec(CASES / "json_corrupted_editor_footer.json"))

    assert "invalid JSON at line 121, column 1 (expected a value)" in str(caught.value)


def test_real_json_nested_with_mapping():
    spec = json_spec(
        REAL_OTHER / "it_automation_car_sales.json",
        mapping={
            "company": "car.car_make",
            "car_model": "car.car_model",
            "sale_date": "date",
        },
    )
    # The file has no sale dates, so a mapping to a missing key fails clearly.
    with pytest.raises(SourceError) as caught:
        read_source(spec)

    assert "the column 'date' mapped to sale_date is not there" in str(caught.value)


def test_real_json_records_read_exactly():
    items = raw_items(json_spec(REAL_OTHER / "it_automation_car_sales.json"))

    assert len(items) == 485
    assert items[0].data["car"]["car_make"] == "Ford"
    assert items[0].data["price"] == "$5179.39"
    assert any(item.data["car"]["car_model"] == "Murciélago" for item in items)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("42", "top-level JSON is a number"),
        ('[{"a": 1},]', "invalid JSON at line 1, column 11 (expected a value)"),
        (
            '[{"a": 1}\n{"a": 2}]',
            "invalid JSON at line 2, column 1 (expected ',' or ']')",
        ),
        ('[{"a": 1}] trailing', "line 1, column 12 (unexpected text after the end"),
        ('[{"a": "open}]', "(a string is not closed)"),
        ('{"data": [1, 2', "(the text ends before the JSON is complete)"),
        ('[{"a" 1}]', "(expected ':')"),
    ],
)
def test_invalid_json_messages(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)

    with pytest.raises(SourceError) as caught:
        raw_items(
            json_spec(path, records_path="data" if text.startswith("{") else None)
        )

    assert message in str(caught.value)


def test_not_utf8_json_fails(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('[\n{"company": "Citroën"}\n]'.encode("cp1252"))

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path))

    assert "not valid UTF-8 at line 2 (byte 0xEB)" in str(caught.value)


def test_json_with_encoding_set(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('[\n{"company": "Citroën"}\n]'.encode("cp1252"))

    items = raw_items(json_spec(path, encoding="cp1252"))

    assert items[0].data == {"company": "Citroën"}


def test_json_bom_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf[{"company": "Kia"}]')

    assert raw_items(json_spec(path))[0].data == {"company": "Kia"}


def test_non_object_elements_rejected(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text('[{"a": 1}, 5, null, ["x"]]')

    items = raw_items(json_spec(path))

    assert isinstance(items[0], RawRecord)
    assert [item.reason for item in items[1:]] == [
        "the record is a number, not an object",
        "the record is null, not an object",
        "the record is a list, not an object",
    ]


def test_array_line_numbers_and_raw(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('[\n  {"a": 1},\n\n  {"a": 2}, {"a": 3}\n]\n')

    items = raw_items(json_spec(path))

    assert [item.line_no for item in items] == [2, 4, 4]
    assert [item.raw for item in items] == ['{"a": 1}', '{"a": 2}', '{"a": 3}']


SAMPLE = [
    {"id": 9007199254740993, "price": 36990.10, "name": 'Murciélago "quoted"\n'},
    {"id": "007", "nested": {"list": [1, 2.5, -3e2, True, False, None]}, "n": 0},
    {"long": "x" * 300, "unicode": "\u00a0\u2028\U0001f697", "big": 1e400},
    {},
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64])
def test_scanner_matches_json_at_any_chunking(chunk_size):
    text = json.dumps(
        {"meta": {"skip": [1, {"x": "]"}]}, "data": {"sales": SAMPLE}}, indent=1
    )
    chunks = iter([text[i : i + chunk_size] for i in range(0, len(text), chunk_size)])
    scanner = JsonScanner(chunks, "sample.json")

    scanner.expect("{")
    assert scanner.key() == "meta"
    scanner.skip()
    scanner.expect(",")
    assert scanner.key() == "data"
    scanner.expect("{")
    assert scanner.key() == "sales"
    values = [value for value, _, _ in scanner.items()]
    scanner.expect("}")
    scanner.expect("}")
    scanner.end()

    expected = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    assert values == expected["data"]["sales"]


@pytest.mark.parametrize("chunk_size", [1, 4, 1 << 20])
def test_scanner_error_position_any_chunking(chunk_size):
    text = '[\n {"a": 1},\n {"a": tru}\n]'
    chunks = iter([text[i : i + chunk_size] for i in range(0, len(text), chunk_size)])
    scanner = JsonScanner(chunks, "x.json")

    with pytest.raises(SourceError) as caught:
        list(scanner.items())

    assert "line 3, column 8 (expected a value)" in str(caught.value)


def test_scanner_number_split_across_chunks():
    scanner = JsonScanner(iter(["[12", "34", "5.", "25]"]), "x.json")

    values = [value for value, _, _ in scanner.items()]

    assert values == [Decimal("12345.25")]


def test_json_url_downloaded(http_server):
    http_server.routes["/sales.json"] = json_reply(
        [
            {
                "company": "Kia",
                "car_model": "Rio",
                "sale_date": "2023-01-01",
                "price": 9000.5,
            }
        ]
    )
    spec = SourceSpec(kind="json", url=http_server.url("/sales.json"))

    outcome = read_source(spec, http=LOCAL)

    assert outcome.records[0].price == Decimal("9000.50")
    assert outcome.records[0].sale_date == date(2023, 1, 1)
    assert outcome.bytes_total == outcome.bytes_read


def test_json_url_ndjson(http_server):
    body = (
        '{"company": "Kia", "car_model": "Rio", "sale_date": "2023-01-01", '
        '"price": 1}\n'
    ) * 3
    http_server.routes["/sales.ndjson"] = text_reply(
        body, content_type="application/x-ndjson"
    )
    spec = SourceSpec(kind="json", url=http_server.url("/sales.ndjson"))

    assert len(read_source(spec, http=LOCAL).records) == 3


def test_json_url_html_page_fails(http_server):
    http_server.routes["/page"] = text_reply(
        (CASES / "api_502_body.html").read_bytes(),
        content_type="text/html; charset=utf-8",
    )
    url = http_server.url("/page")

    with pytest.raises(SourceError) as caught:
        raw_items(SourceSpec(kind="json", url=url), http=LOCAL)

    assert f"expected JSON, got text/html from {url}" in str(caught.value)


def test_json_url_upload_path_wins(tmp_path):
    path = tmp_path / "upload"
    path.write_text('[{"a": 1}]')
    spec = SourceSpec(kind="json", url="http://127.0.0.1:9/never")

    assert raw_items(spec, upload_path=str(path))[0].data == {"a": 1}


SALE = '{"company": "Kia", "car_model": "Rio", "sale_date": "2023-01-01", "price": 9}'
LONG_NUMBER = "1" * 5000


def test_ndjson_long_number_line_rejected(tmp_path):
    path = tmp_path / "long.ndjson"
    long_line = SALE.replace("9}", f"{LONG_NUMBER}}}")
    path.write_text(f"{SALE}\n{long_line}\n{SALE.replace('Rio', 'Ceed')}\n")

    outcome = read_source(json_spec(path, format="ndjson"))

    assert [record.car_model for record in outcome.records] == ["Rio", "Ceed"]
    rejection = outcome.rejection_at(2)
    assert rejection.reason == "a number has more than 4,300 digits"


@pytest.mark.parametrize("depth", [300, 200_000])
def test_ndjson_deep_nesting_line_rejected(tmp_path, depth):
    path = tmp_path / "deep.ndjson"
    nested = "[" * depth + "]" * depth
    deep_line = SALE.replace('"price": 9', f'"price": 9, "extra": {nested}')
    path.write_text(f"{SALE}\n{deep_line}\n")

    outcome = read_source(json_spec(path, format="ndjson"))

    assert len(outcome.records) == 1
    rejection = outcome.rejection_at(2)
    assert rejection.reason == "lists and objects are nested deeper than 200 levels"


def test_ndjson_unclosed_deep_nesting_detected_and_rejected(tmp_path):
    path = tmp_path / "deep.ndjson"
    path.write_text('{"a": ' + "[" * 200_000 + "\n" + SALE + "\n")

    outcome = read_source(json_spec(path))

    assert len(outcome.records) == 1
    assert outcome.rejection_at(1).reason == (
        "lists and objects are nested deeper than 200 levels"
    )


def test_ndjson_brackets_inside_strings_not_nesting(tmp_path):
    path = tmp_path / "brackets.ndjson"
    line = SALE.replace('"price": 9', '"price": 9, "note": "' + "[{" * 300 + '\\""')
    path.write_text(f"{line}\n")

    outcome = read_source(json_spec(path, format="ndjson"))

    assert len(outcome.records) == 1
    assert outcome.rejections == []


def test_array_long_number_fails_naming_line(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(f"[\n{SALE},\n{SALE.replace('9}', LONG_NUMBER + '}')}\n]\n")

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path))

    assert str(caught.value) == (
        f"{path.name}: a number on line 3 has more than 4,300 digits. Quote it as a "
        "string or fix the file."
    )


@pytest.mark.parametrize("depth", [250, 200_000])
def test_array_deep_nesting_fails_naming_line(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text("[\n" + SALE + ",\n" + "[" * depth + "]" * depth + "\n]\n")

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path))

    assert str(caught.value) == (
        f"{path.name}: lists and objects are nested deeper than 200 levels at line "
        "3. Records of sales need only a few levels; check the file."
    )


def test_unclosed_deep_array_fails_naming_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("\n" + "[" * 200_000)

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path))

    assert "nested deeper than 200 levels at line 2" in str(caught.value)


def test_deep_object_chain_fails_naming_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"data":\n' + '{"a": ' * 200_000 + "1" + "}" * 200_001)

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path, records_path="data"))

    assert "nested deeper than 200 levels at line 2" in str(caught.value)


def test_nesting_limit_counts_whole_document(tmp_path):
    path = tmp_path / "deep.json"
    inner = "[" * 150 + "]" * 150
    path.write_text('{"a": {"b": {"c": ' * 20 + inner + "}}}" * 20)

    with pytest.raises(SourceError) as caught:
        raw_items(json_spec(path, records_path="a"))

    assert "nested deeper than 200 levels at line 1" in str(caught.value)


def test_nesting_at_limit_read(tmp_path):
    path = tmp_path / "deep.json"
    nested = "[" * 198 + "]" * 198
    record = SALE.replace('"price": 9', f'"price": 9, "extra": {nested}')
    path.write_text(f"[{record}]")

    outcome = read_source(json_spec(path))

    assert len(outcome.records) == 1


def test_integer_beyond_64_bits_keyed(tmp_path):
    path = tmp_path / "vin.json"
    record = SALE.replace(
        '"price": 9', '"price": 9, "vin": 123456789012345678901234567890'
    )
    path.write_text(f"[{record}, {record.replace('890}', '891}')}]")

    outcome = read_source(json_spec(path))

    assert len(outcome.records) == 2
    assert len(set(outcome.keys)) == 2
    assert outcome.keys == read_source(json_spec(path)).keys
