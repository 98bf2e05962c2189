"""API reader: pagination styles, loops, limits and error pages on a local server."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sources import HttpSettings, SourceError, open_records
from sources.spec import Pagination, SourceSpec
from tests.support.httpserver import json_reply, text_reply

from .helpers import CASES, read_source

LOCAL = HttpSettings(allowed_networks=["127.0.0.1"], retries=1, backoff=0.001)


def sale(model: str, n: int = 1) -> dict:
    return {
        "company": "Skoda",
        "car_model": model,
        "sale_date": f"2023-06-{n:02d}T10:00:00",
        "price": 20000 + n,
    }


def api_spec(url: str, **options) -> SourceSpec:
    pagination = options.pop("pagination", None)
    spec = SourceSpec(kind="api", url=url, **options)
    if pagination:
        spec.pagination = Pagination(**pagination)
    return spec


def paged(pages: dict[str, list], param: str):
    """Return a route serving ``{"data": pages[value of param]}``, [] when absent."""

    def route(request):
        return json_reply({"data": pages.get(request.query.get(param, ""), [])})

    return route


def test_cursor_loop_stops_after_two_requests(http_server):
    page1 = json.loads((CASES / "api_cursor_loop_page1.json").read_text())
    page2 = json.loads((CASES / "api_cursor_loop_page2.json").read_text())

    def route(request):
        return json_reply(page2 if request.query.get("cursor") == "c2" else page1)

    http_server.routes["/sales"] = route
    spec = api_spec(
        http_server.url("/sales"),
        records_path="data",
        pagination={
            "style": "cursor",
            "cursor_param": "cursor",
            "cursor_path": "next_cursor",
        },
    )

    outcome = read_source(spec, http=LOCAL)

    assert len(http_server.requests) == 2
    assert http_server.requests[0].query == {}
    assert http_server.requests[1].query == {"cursor": "c2"}
    assert [r.car_model for r in outcome.records] == ["Kamiq", "Karoq", "Kodiaq"]
    assert outcome.warnings == ["pagination cursor 'c2' repeated"]


def test_cursor_loop_rerun_same_keys(http_server):
    page = json.loads((CASES / "api_cursor_loop_page1.json").read_text())
    http_server.routes["/sales"] = json_reply(page)
    spec = api_spec(
        http_server.url("/sales"), records_path="data", pagination={"style": "cursor"}
    )

    first = read_source(spec, http=LOCAL, identity="api:x")
    second = read_source(spec, http=LOCAL, identity="api:x")

    assert first.keys == second.keys
    assert len(set(first.keys)) == 2


def test_cursor_ends_when_missing(http_server):
    def route(request):
        if request.query.get("after") == "p2":
            return json_reply({"items": [sale("Karoq", 2)], "meta": {"next": None}})
        return json_reply({"items": [sale("Kamiq", 1)], "meta": {"next": "p2"}})

    http_server.routes["/s"] = route
    spec = api_spec(
        http_server.url("/s"),
        records_path="items",
        pagination={
            "style": "cursor",
            "cursor_param": "after",
            "cursor_path": "meta.next",
        },
    )

    outcome = read_source(spec, http=LOCAL)

    assert [r.car_model for r in outcome.records] == ["Kamiq", "Karoq"]
    assert outcome.warnings == []
    assert len(http_server.requests) == 2


def test_page_numbers_until_empty(http_server):
    pages = {"1": [sale("A", 1), sale("B", 2)], "2": [sale("C", 3)]}
    http_server.routes["/s"] = paged(pages, "p")
    spec = api_spec(
        http_server.url("/s"),
        records_path="data",
        params={"region": "north"},
        pagination={"style": "page", "page_param": "p", "size_param": "per", "size": 2},
    )

    outcome = read_source(spec, http=LOCAL)

    assert [r.car_model for r in outcome.records] == ["A", "B", "C"]
    assert [r.line_no for r in outcome.records] == [1, 2, 3]
    queries = [request.query for request in http_server.requests]
    assert queries == [
        {"region": "north", "p": "1", "per": "2"},
        {"region": "north", "p": "2", "per": "2"},
        {"region": "north", "p": "3", "per": "2"},
    ]


def test_page_repeating_same_records_stops(http_server):
    http_server.routes["/s"] = json_reply({"data": [sale("A")]})
    spec = api_spec(
        http_server.url("/s"), records_path="data", pagination={"style": "page"}
    )

    outcome = read_source(spec, http=LOCAL)

    assert len(http_server.requests) == 2
    assert "same records for two pages in a row" in outcome.warnings[0]


def test_offset_limit_paging(http_server):
    pages = {"0": [sale("A", 1), sale("B", 2)], "2": [sale("C", 3)]}
    http_server.routes["/s"] = paged(pages, "skip")
    spec = api_spec(
        http_server.url("/s"),
        records_path="data",
        pagination={
            "style": "offset",
            "offset_param": "skip",
            "limit_param": "take",
            "limit": 2,
        },
    )

    outcome = read_source(spec, http=LOCAL)

    assert [r.car_model for r in outcome.records] == ["A", "B", "C"]
    offsets = [request.query["skip"] for request in http_server.requests]
    assert offsets == ["0", "2", "3"]
    assert {request.query["take"] for request in http_server.requests} == {"2"}


def test_next_link_relative_and_absolute(http_server):
    http_server.routes["/v1/sales"] = json_reply(
        {"items": [sale("A", 1)], "next": "page2"}
    )
    http_server.routes["/v1/page2"] = json_reply(
        {"items": [sale("B", 2)], "next": http_server.url("/v1/page3?x=1")}
    )
    http_server.routes["/v1/page3"] = json_reply(
        {"items": [sale("C", 3)], "next": None}
    )
    spec = api_spec(
        http_server.url("/v1/sales"),
        records_path="items",
        pagination={"style": "next", "next_path": "next"},
    )

    outcome = read_source(spec, http=LOCAL)

    assert [r.car_model for r in outcome.records] == ["A", "B", "C"]
    assert http_server.paths() == ["/v1/sales", "/v1/page2", "/v1/page3"]
    assert http_server.requests[2].query == {"x": "1"}


def test_next_link_header(http_server):
    http_server.routes["/s"] = (
        200,
        {"Content-Type": "application/json", "Link": '</s2>; rel="next"'},
        [sale("A", 1)],
    )
    http_server.routes["/s2"] = json_reply([sale("B", 2)])
    spec = api_spec(http_server.url("/s"), pagination={"style": "next"})

    outcome = read_source(spec, http=LOCAL)

    assert [r.car_model for r in outcome.records] == ["A", "B"]


def test_next_link_repeated_stops(http_server):
    http_server.routes["/s"] = json_reply({"items": [sale("A")], "next": "/s2"})
    http_server.routes["/s2"] = json_reply({"items": [sale("B")], "next": "/s2"})
    spec = api_spec(
        http_server.url("/s"), records_path="items", pagination={"style": "next"}
    )

    outcome = read_source(spec, http=LOCAL)

    assert len(http_server.requests) == 2
    assert outcome.warnings == [
        f"pagination next URL '{http_server.url('/s2')}' repeated"
    ]


def test_forecourt_sales_api_shape(http_server):
    items = [
        {
            "id": 101,
            "company": "Kia",
            "car_model": "Niro",
            "sold_at": "2023-01-17T11:15:00",
            "sale_date": "2023-01-17",
            "price": "31000.00",
            "currency": "EUR",
            "utc_offset_minutes": None,
            "source_kind": "csv",
        },
        {
            "id": 102,
            "company": "Kia",
            "car_model": "Ceed",
            "sold_at": "2023-01-18T09:00:00-05:00",
            "sale_date": "2023-01-18",
            "price": "19990.50",
            "currency": None,
        },
    ]

    def route(request):
        if request.query.get("cursor") == "2":
            return json_reply({"items": items[1:], "next": None})
        return json_reply(
            {"items": items[:1], "next": http_server.url("/api/v1/sales?cursor=2")}
        )

    http_server.routes["/api/v1/sales"] = route
    spec = api_spec(
        http_server.url("/api/v1/sales"),
        headers={"Authorization": "Bearer t0ken"},
        records_path="items",
        pagination={"style": "next", "next_path": "next"},
    )

    outcome = read_source(spec, http=LOCAL)

    first, second = outcome.records
    assert first.source_record_id == "101"
    assert first.price == Decimal("31000.00")
    assert first.currency == "EUR"
    assert second.sold_at.isoformat() == "2023-01-18T09:00:00"
    assert second.utc_offset_minutes == -300
    assert [r.headers.get("Authorization") for r in http_server.requests] == [
        "Bearer t0ken",
        "Bearer t0ken",
    ]


def test_max_pages_stops_with_warning(http_server):
    counter = {"n": 0}

    def endless(request):
        counter["n"] += 1
        return json_reply({"data": [sale(f"M{counter['n']}")]})

    http_server.routes["/s"] = endless
    spec = api_spec(
        http_server.url("/s"),
        records_path="data",
        pagination={"style": "page", "max_pages": 3},
    )

    outcome = read_source(spec, http=LOCAL)

    assert len(http_server.requests) == 3
    assert len(outcome.records) == 3
    assert outcome.warnings[0].startswith("Stopped after 3 pages, the page limit")


def test_settings_page_limit_applies(http_server):
    http_server.routes["/s"] = paged(
        {str(n): [sale(f"M{n}")] for n in range(1, 10)}, "page"
    )
    spec = api_spec(
        http_server.url("/s"), records_path="data", pagination={"style": "page"}
    )
    limited = HttpSettings(allowed_networks=["127.0.0.1"], max_pages=2)

    outcome = read_source(spec, http=limited)

    assert len(http_server.requests) == 2
    assert "Stopped after 2 pages" in outcome.warnings[0]


def test_headers_not_sent_to_other_origin(http_server):
    from tests.support.httpserver import LocalHTTPServer

    with LocalHTTPServer() as other:
        other.routes["/more"] = json_reply({"items": [sale("B")], "next": None})
        http_server.routes["/s"] = json_reply(
            {"items": [sale("A")], "next": other.url("/more")}
        )
        spec = api_spec(
            http_server.url("/s"),
            headers={"X-Api-Key": "k-1"},
            records_path="items",
            pagination={"style": "next"},
        )

        outcome = read_source(spec, http=LOCAL)

        assert len(outcome.records) == 2
        assert http_server.requests[0].headers["X-Api-Key"] == "k-1"
        assert "X-Api-Key" not in other.requests[0].headers


def test_502_html_retried_then_fails(http_server):
    body = (CASES / "api_502_body.html").read_bytes()
    http_server.routes["/s"] = (502, {"Content-Type": "text/html"}, body)
    settings = HttpSettings(allowed_networks=["127.0.0.1"], retries=2, backoff=0.001)

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(http_server.url("/s")), http=settings)

    message = str(caught.value)
    assert message.startswith(
        f"HTTP 502 from 127.0.0.1:{http_server.port} (text/html, 162 bytes): "
        "Upstream unavailable…"
    )
    assert "Expecting value" not in message
    assert len(http_server.requests) == 3


def test_200_html_fails(http_server):
    body = (CASES / "api_502_body.html").read_bytes()
    http_server.routes["/s"] = text_reply(body, content_type="text/html")
    url = http_server.url("/s")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(url), http=LOCAL)

    assert str(caught.value).startswith(f"expected JSON, got text/html from {url}")
    assert len(http_server.requests) == 1


def test_plain_text_not_json_fails(http_server):
    http_server.routes["/s"] = text_reply("OK")
    url = http_server.url("/s")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(url), http=LOCAL)

    assert str(caught.value).startswith(f"expected JSON, got text/plain from {url}")


def test_invalid_json_body_fails(http_server):
    http_server.routes["/s"] = text_reply(
        '{"data": [1,\n ]}', content_type="application/json"
    )
    url = http_server.url("/s")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(url, records_path="data"), http=LOCAL)

    assert str(caught.value) == (
        f"invalid JSON from {url} at line 2, column 2 (expected a value)."
    )


def test_404_fails_with_url(http_server):
    url = http_server.url("/gone")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(url), http=LOCAL)

    assert str(caught.value) == f"HTTP 404 from {url}: not found; check the URL."


def test_records_path_missing_on_page(http_server):
    http_server.routes["/s"] = json_reply({"error": "quota"})
    url = http_server.url("/s")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(url, records_path="data"), http=LOCAL)

    assert "the top level has no key 'data' (its keys are: error)" in str(caught.value)


def test_object_page_without_path_names_list(http_server):
    http_server.routes["/s"] = json_reply({"meta": {}, "result": {"rows": []}})

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(http_server.url("/s")), http=LOCAL)

    assert "set the records path (found a list at result.rows)" in str(caught.value)


def test_api_numbers_exact(http_server):
    body = '[{"id": 9007199254740993, "company": "Volvo", "car_model": "EX30", '
    body += '"sale_date": "2023-03-01", "price": 36990.10}]'
    http_server.routes["/s"] = text_reply(body, content_type="application/json")

    outcome = read_source(api_spec(http_server.url("/s")), http=LOCAL)

    assert outcome.records[0].source_record_id == "9007199254740993"
    assert outcome.records[0].price == Decimal("36990.10")


def test_api_stream_counts_bytes(http_server):
    http_server.routes["/s"] = json_reply([sale("A")])

    with open_records(api_spec(http_server.url("/s")), http=LOCAL) as stream:
        items = list(stream)

    assert len(items) == 1
    assert stream.bytes_total is None
    assert stream.bytes_read == len(json.dumps([sale("A")]))


def test_response_long_number_fails_naming_line(http_server):
    body = '{"data": [\n{"price": ' + "7" * 5000 + "}\n]}"
    http_server.routes["/long"] = text_reply(body, content_type="application/json")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(http_server.url("/long"), records_path="data"), http=LOCAL)

    assert str(caught.value) == (
        f"The response from {http_server.url('/long')} has a number on line 2 with "
        "more than 4,300 digits. Check that the URL is a sales API."
    )


@pytest.mark.parametrize("depth", [250, 200_000])
def test_response_deep_nesting_fails_naming_line(http_server, depth):
    body = '{"data": [\n' + "[" * depth + "]" * depth + "\n]}"
    http_server.routes["/deep"] = text_reply(body, content_type="application/json")

    with pytest.raises(SourceError) as caught:
        read_source(api_spec(http_server.url("/deep"), records_path="data"), http=LOCAL)

    assert str(caught.value) == (
        f"The response from {http_server.url('/deep')} nests lists and objects "
        "deeper than 200 levels at line 2. Check that the URL is a sales API."
    )


def test_repeated_long_cursor_warning_clipped(http_server):
    cursor = "c" * 5000
    http_server.routes["/s"] = json_reply({"data": [sale("Fabia")], "next": cursor})
    spec = api_spec(
        http_server.url("/s"),
        records_path="data",
        pagination={"style": "cursor", "cursor_path": "next"},
    )

    outcome = read_source(spec, http=LOCAL)

    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("pagination cursor 'ccc")
    assert len(outcome.warnings[0]) < 300
