"""Spec validation: bad headers, URLs, encodings and paths, and masked secrets."""

from __future__ import annotations

import pytest

from sources.errors import MESSAGE_LIMIT, SpecError
from sources.spec import SourceSpec, parse_source_spec

from .helpers import CASES, REAL

DATA_DIRS = [str(REAL.parent), str(CASES)]
API_URL = "https://api.example.com/sales"
SECRET = "s3cret-Value-42"


def parse(source: dict) -> SourceSpec:
    return parse_source_spec(source, data_dirs=DATA_DIRS, allowed_networks=[])


def spec_error(source: dict) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse(source)
    return caught.value


def api_source(**options) -> dict:
    return {"kind": "api", "url": API_URL, **options}


@pytest.mark.parametrize("control", ["\r", "\n", "\r\n", "\x00", "\x1b"])
def test_header_value_control_character_rejected(control):
    headers = {"Authorization": f"Bearer {SECRET}{control}X-Admin: 1"}

    error = spec_error(api_source(headers=headers))

    assert error.field == "source.headers.Authorization"
    assert "control character" in error.message
    assert SECRET not in str(error)


@pytest.mark.parametrize("name", ["X-Key\r\nX-Admin", "X-Key\x00", "X Key", "X:Key"])
def test_header_name_invalid_rejected(name):
    error = spec_error(api_source(headers={name: SECRET}))

    assert error.field.startswith("source.headers.X")
    assert "is not a valid header name" in error.message
    assert "\r" not in error.field
    assert "\n" not in error.field
    assert "\x00" not in error.field
    assert SECRET not in str(error)


def test_header_value_tab_allowed_and_trimmed():
    spec = parse(api_source(headers={"X-Api-Key": f"  {SECRET}\t"}))

    assert spec.headers == {"X-Api-Key": SECRET}


@pytest.mark.parametrize(
    "headers",
    [
        [f"Authorization: Bearer {SECRET}"],
        f"Authorization: Bearer {SECRET}",
        42,
    ],
)
def test_headers_wrong_shape_not_echoed(headers):
    error = spec_error(api_source(headers=headers))

    assert error.field == "source.headers"
    assert "must be an object of names and values" in error.message
    assert SECRET not in str(error)
    assert "42" not in str(error)


@pytest.mark.parametrize("value", [[SECRET], {"token": SECRET}, True])
def test_header_value_wrong_type_not_echoed(value):
    error = spec_error(api_source(headers={"Authorization": value}))

    assert error.field == "source.headers.Authorization"
    assert "must be a string or number" in error.message
    assert SECRET not in str(error)


def test_source_not_object_not_echoed():
    with pytest.raises(SpecError) as caught:
        parse_source_spec([f"Bearer {SECRET}"], data_dirs=DATA_DIRS)

    assert caught.value.field == "source"
    assert caught.value.message == "must be an object, got a list"


def test_url_not_string_not_echoed():
    error = spec_error(api_source(url=[f"https://api.example.com/?key={SECRET}"]))

    assert error.field == "source.url"
    assert error.message == "must be a string, got a list"


@pytest.mark.parametrize(
    "url",
    [
        f"https://ana:{SECRET}@api.example.com/sales",
        f"ftp://ana:{SECRET}@api.example.com/sales",
        f"http://ana:{SECRET}@/sales",
        f"http://ana:{SECRET}@[::1/sales",
        f"http://ana:{SECRET}@api.example.com:port/sales",
        f"gopher://api.example.com/sales?api_key={SECRET}",
        f"http:///sales?token={SECRET}",
    ],
)
def test_url_error_hides_password_and_secret_query(url):
    error = spec_error(api_source(url=url))

    assert error.field == "source.url"
    assert SECRET not in str(error)


def test_url_with_password_names_problem():
    error = spec_error(api_source(url=f"https://ana:{SECRET}@api.example.com/"))

    assert "must not contain a user name or password" in error.message


def test_url_with_bad_port_is_spec_error():
    error = spec_error(api_source(url="https://api.example.com:99999/sales"))

    assert error.message.startswith("is not a valid URL")


def test_public_dict_masks_secret_params():
    spec = parse(
        api_source(
            url=f"{API_URL}?page=1&Access_Token={SECRET}&region=eu",
            params={
                "api_key": SECRET,
                "APIKEY": SECRET,
                "client_secret": SECRET,
                "passwd": SECRET,
                "signature": SECRET,
                "Auth": SECRET,
                "per_page": "100",
            },
            headers={"X-Api-Key": SECRET},
        )
    )

    public = spec.public_dict()

    assert public["params"] == {
        "api_key": "********",
        "APIKEY": "********",
        "client_secret": "********",
        "passwd": "********",
        "signature": "********",
        "Auth": "********",
        "per_page": "100",
    }
    assert public["headers"] == {"X-Api-Key": "********"}
    assert public["url"] == f"{API_URL}?page=1&Access_Token=********&region=eu"
    assert SECRET not in repr(public)


def test_public_dict_keeps_stored_spec_secrets():
    spec = parse(api_source(url=f"{API_URL}?token={SECRET}", params={"sig": SECRET}))

    spec.public_dict()

    assert spec.to_dict()["url"] == f"{API_URL}?token={SECRET}"
    assert spec.to_dict()["params"] == {"sig": SECRET}


def test_display_name_masks_secret_query():
    spec = parse(api_source(url=f"{API_URL}?apikey={SECRET}&page=2"))

    assert spec.display_name == f"{API_URL}?apikey=********&page=2"


def test_display_name_keeps_plain_url():
    url = f"{API_URL}?region=eu%20west&page=2"

    assert parse(api_source(url=url)).display_name == url


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib_codec", "hex", "bz2"])
def test_encoding_must_be_text_encoding(encoding):
    error = spec_error({"kind": "csv", "path": "csv_cp1252.csv", "encoding": encoding})

    assert error.field == "source.encoding"
    assert "is not a known text encoding" in error.message


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "cp1252", "latin-1", "utf-16"])
def test_encoding_text_encodings_accepted(encoding):
    spec = parse({"kind": "csv", "path": "csv_cp1252.csv", "encoding": encoding})

    assert spec.encoding == encoding


def test_path_with_nul_rejected():
    error = spec_error({"kind": "csv", "path": "csv_cp1252.csv\x00.txt"})

    assert error.field == "source.path"
    assert "contains a NUL character" in error.message


def test_path_too_long_rejected():
    error = spec_error({"kind": "csv", "path": "a/" * 600 + "sales.csv"})

    assert error.field == "source.path"
    assert "use at most 1,024" in error.message


def test_path_with_long_name_is_spec_error():
    error = spec_error({"kind": "csv", "path": "x" * 1000 + ".csv"})

    assert error.field == "source.path"
    assert error.message.startswith("file not found")


def test_missing_path_message_hides_data_folders():
    error = spec_error({"kind": "csv", "path": "nowhere.csv"})

    assert error.message == (
        "file not found: 'nowhere.csv' is not a file in the data folders; the "
        "stored files are listed on the New task page"
    )
    for folder in DATA_DIRS:
        assert folder not in str(error)


def test_spec_error_message_clipped():
    error = spec_error(
        {"kind": "csv", "path": "csv_cp1252.csv", "delimiter": "x" * 5000}
    )

    assert error.field == "source.delimiter"
    assert len(error.message) <= MESSAGE_LIMIT
    assert error.message.endswith("…")
