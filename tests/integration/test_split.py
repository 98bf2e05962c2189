"""Planning byte-range parts of a file on record boundaries."""

from __future__ import annotations

import csv
import io

import pytest

from workers.split import header_end, plan_parts, write_part


def records_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "company", "car_model", "notes"])
    for number in range(rows):
        notes = f'line one\nline "two", {number}' if number % 7 == 0 else "plain"
        writer.writerow([number, "Kia", f"Ceed {number}", notes])
    return out.getvalue().encode()


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 50])
def test_parts_rejoin_to_the_same_records(tmp_path, parts):
    data = make_csv(500)
    path = tmp_path / "sales.csv"
    path.write_bytes(data)
    start = header_end(path)

    planned = plan_parts(path, parts, data_start=start, first_line=2)

    assert planned[0].start == start
    assert planned[-1].end == len(data)
    for before, after in zip(planned, planned[1:], strict=False):
        assert before.end == after.start
    joined = [
        row for part in planned for row in records_of(data[part.start : part.end])
    ]
    assert joined == records_of(data)[1:]
    assert len(planned) <= parts


def test_part_first_line_counts_embedded_newlines(tmp_path):
    data = make_csv(100)
    path = tmp_path / "sales.csv"
    path.write_bytes(data)

    planned = plan_parts(path, 4, data_start=header_end(path), first_line=2)

    for part in planned:
        lines_before = data[: part.start].count(b"\n")
        assert part.first_line == lines_before + 1
        # A part never starts inside a quoted field.
        assert data[: part.start].count(b'"') % 2 == 0


def test_header_end_skips_quoted_newline(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b'id,"com\npany",price\n1,Kia,10\n')

    assert header_end(path) == len(b'id,"com\npany",price\n')


def test_ndjson_parts_split_on_every_newline(tmp_path):
    lines = [b'{"id": %d, "notes": "say \\"hi\\""}\n' % number for number in range(40)]
    path = tmp_path / "sales.ndjson"
    path.write_bytes(b"".join(lines))

    planned = plan_parts(path, 3, quote=None)

    assert len(planned) == 3
    assert b"".join(
        path.read_bytes()[part.start : part.end] for part in planned
    ) == b"".join(lines)
    assert [part.first_line for part in planned][0] == 1


def test_write_part_prepends_header(tmp_path):
    data = make_csv(30)
    path = tmp_path / "sales.csv"
    path.write_bytes(data)
    start = header_end(path)
    part = plan_parts(path, 2, data_start=start, first_line=2)[1]

    target = tmp_path / "part.csv"
    write_part(path, part, target, data[:start])

    assert target.read_bytes() == data[:start] + data[part.start : part.end]
