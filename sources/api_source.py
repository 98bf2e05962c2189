"""HTTP API reader: pages of JSON records through the guarded client.

Pagination styles come from ``sources.spec.Pagination``: none, page numbers,
offset and limit, a cursor read from each response, or a next link (a URL in
the body or a ``Link: <...>; rel="next"`` header). Paging stops at an empty page
or when no cursor or link follows. It also stops at a repeated cursor, link or
page and after the page limit, and these four add a warning to the stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from sources.errors import SourceError, clip_text
from sources.http import (
    GuardedClient,
    HttpResponse,
    HttpSettings,
    describe_content_type,
    display_url,
    same_origin,
)
from sources.json_scan import (
    EXACT_DECODER,
    MAX_DEPTH,
    long_number_at,
    plain_message,
    too_deep_at,
)
from sources.json_source import records_at, to_record
from sources.spec import SourceSpec
from sources.stream import Item, RecordStream

log = logging.getLogger(__name__)


@dataclass
class PageRequest:
    """The URL and query parameters of the next page to fetch."""

    url: str
    params: dict[str, str] | None


def open_api(spec: SourceSpec, settings: HttpSettings) -> RecordStream:
    """Return the record stream of the API at ``spec.url``; requests start lazily."""
    stream = RecordStream(spec.display_name)
    client = GuardedClient(settings)
    stream.resources.callback(client.close)
    max_pages = min(settings.max_pages, spec.pagination.max_pages)
    return stream.start(lambda progress: read_api(progress, client, spec, max_pages))


def read_api(
    stream: RecordStream,
    client: GuardedClient,
    spec: SourceSpec,
    max_pages: int,
) -> Iterator[Item]:
    """Yield the records of every page; ``line_no`` is the 1-based record position."""
    pager = Pager(spec)
    request: PageRequest | None = pager.first()
    position = 0
    pages = 0
    while request is not None:
        headers = spec.headers if same_origin(request.url, spec.url) else None
        response = client.fetch(request.url, params=request.params, headers=headers)
        pages += 1
        stream.bytes_read += response.size
        try:
            document = parse_json_response(response)
        finally:
            response.close()
        records = records_at(document, spec.records_path, display_url(response.url))
        log.info("%s: page %d has %d records", stream.source_name, pages, len(records))
        for value in records:
            position += 1
            yield to_record(value, position, _raw_text(value))

        request = pager.next(response, document, records)
        if request is None and pager.warning:
            stream.warnings.append(pager.warning)
        if request is not None and pages >= max_pages:
            stream.warnings.append(
                f"Stopped after {pages} pages, the page limit; more pages were "
                "available. Raise max_pages to read them."
            )
            return


class Pager:
    """Work out the next page request from the current response."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.paging = spec.pagination
        self.page = self.paging.start
        self.offset = 0
        self.seen: set[str] = set()
        self.last_page_digest: str | None = None
        self.warning: str | None = None

    def first(self) -> PageRequest:
        params = dict(self.spec.params)
        style = self.paging.style
        if style == "page":
            params[self.paging.page_param] = str(self.page)
            if self.paging.size_param and self.paging.size:
                params[self.paging.size_param] = str(self.paging.size)
        elif style == "offset":
            params[self.paging.offset_param] = "0"
            params[self.paging.limit_param] = str(self.paging.limit)
        self.seen.add(self.spec.url)
        return PageRequest(self.spec.url, params)

    def next(
        self, response: HttpResponse, document: Any, records: list[Any]
    ) -> PageRequest | None:
        """Return the request for the page after this one, or None to stop."""
        style = self.paging.style
        if style == "none" or not records:
            return None
        if style in ("page", "offset") and self._repeats_previous(records):
            return None
        if style == "page":
            self.page += 1
            params = dict(self.spec.params)
            params[self.paging.page_param] = str(self.page)
            if self.paging.size_param and self.paging.size:
                params[self.paging.size_param] = str(self.paging.size)
            return PageRequest(self.spec.url, params)
        if style == "offset":
            self.offset += len(records)
            params = dict(self.spec.params)
            params[self.paging.offset_param] = str(self.offset)
            params[self.paging.limit_param] = str(self.paging.limit)
            return PageRequest(self.spec.url, params)
        if style == "cursor":
            return self._cursor_request(document)
        return self._next_link_request(response, document)

    def _repeats_previous(self, records: list[Any]) -> bool:
        digest = hashlib.blake2b(
            _raw_text(records).encode(), digest_size=16
        ).hexdigest()
        repeated = digest == self.last_page_digest
        self.last_page_digest = digest
        if repeated:
            self.warning = (
                "The API returned the same records for two pages in a row, so "
                "paging stopped. Check the pagination settings."
            )
        return repeated

    def _cursor_request(self, document: Any) -> PageRequest | None:
        cursor = value_at(document, self.paging.cursor_path)
        if cursor is None or cursor == "" or isinstance(cursor, dict | list):
            return None
        cursor = str(cursor)
        if cursor in self.seen:
            self.warning = f"pagination cursor {clip_text(cursor, 200)!r} repeated"
            log.warning("%s: %s", self.spec.display_name, self.warning)
            return None
        self.seen.add(cursor)
        params = dict(self.spec.params)
        params[self.paging.cursor_param] = cursor
        return PageRequest(self.spec.url, params)

    def _next_link_request(
        self, response: HttpResponse, document: Any
    ) -> PageRequest | None:
        link = value_at(document, self.paging.next_path)
        if not isinstance(link, str) or not link.strip():
            link = response.links.get("next", {}).get("url")
        if not link:
            return None
        next_url = urljoin(response.url, link.strip())
        if next_url in self.seen:
            shown = clip_text(display_url(next_url), 300)
            self.warning = f"pagination next URL {shown!r} repeated"
            log.warning("%s: %s", self.spec.display_name, self.warning)
            return None
        self.seen.add(next_url)
        return PageRequest(next_url, None)


def value_at(document: Any, path: str) -> Any:
    """Return the value at a dotted key path in a decoded document, or None."""
    value = document
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parse_json_response(response: HttpResponse) -> Any:
    """Decode a response body as JSON, numbers exact, or raise ``SourceError``."""
    public_url = display_url(response.url)
    kind = describe_content_type(response.content_type)
    if response.looks_like_html():
        raise SourceError(
            f"expected JSON, got {kind} from {public_url}. Check that the URL is the "
            "API endpoint and not a web page."
        )
    try:
        text = response.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"The response from {public_url} is not valid UTF-8 (byte 0x"
            f"{exc.object[exc.start]:02X} at offset {exc.start}); JSON must be UTF-8."
        ) from None
    try:
        document = EXACT_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        reason = plain_message(exc.msg)
        if "json" not in kind:
            raise SourceError(
                f"expected JSON, got {kind} from {public_url} ({reason} at line "
                f"{exc.lineno}, column {exc.colno})."
            ) from None
        raise SourceError(
            f"invalid JSON from {public_url} at line {exc.lineno}, column {exc.colno} "
            f"({reason})."
        ) from None
    except RecursionError:
        raise _too_deep_error(text, public_url) from None
    except ValueError:
        raise _long_number_error(text, public_url) from None
    if _deeper_than(document, MAX_DEPTH):
        raise _too_deep_error(text, public_url)
    return document


def _deeper_than(value: Any, limit: int) -> bool:
    """True when ``value`` nests lists and objects more than ``limit`` levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep_error(text: str, public_url: str) -> SourceError:
    found = too_deep_at(text)
    line = text.count("\n", 0, found) + 1 if found is not None else 1
    return SourceError(
        f"The response from {public_url} nests lists and objects deeper than "
        f"{MAX_DEPTH} levels at line {line}. Check that the URL is a sales API."
    )


def _long_number_error(text: str, public_url: str) -> SourceError:
    found = long_number_at(text)
    line = text.count("\n", 0, found) + 1 if found is not None else 1
    return SourceError(
        f"The response from {public_url} has a number on line {line} with more than "
        f"{sys.get_int_max_str_digits():,} digits. Check that the URL is a sales API."
    )


def _raw_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
