"""Percentiles, target verdicts and the rewriting of docs/benchmarks.md."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.report import Section, Table, Target, write_sections
from benchmarks.stats import percentile


@pytest.mark.parametrize("share", [0, 50, 95, 99, 100])
def test_percentile_matches_numpy(share):
    values = [0.3, 0.01, 2.5, 0.7, 0.7, 1.9, 0.05, 4.0, 0.2, 0.9, 3.3]
    assert percentile(values, share) == pytest.approx(np.percentile(values, share))


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="at least one sample"):
        percentile([], 50)


@pytest.mark.parametrize(
    ("target", "verdict"),
    [
        (Target("ratio", 0.5, True, 1.0), "**met**, 2.00× margin"),
        (Target("ratio", 0.5, True, 0.1), "**missed** by 5.00×"),
        (Target("p95", 50, False, 25.0), "**met**, 2.00× margin"),
        (Target("p95", 50, False, 200.0), "**missed** by 4.00×"),
        (Target("errors", 0, False, 0.0), "**met**"),
        (Target("errors", 0, False, 3.0), "**missed**"),
        (Target("peak", 300, False, None), "not measured in this run"),
    ],
)
def test_target_verdict(target, verdict):
    assert target.verdict() == verdict


def test_target_row_formats_large_numbers_plainly():
    row = Target("load p95", 250, False, 1620.4, unit=" ms").row()
    assert row[1] == "≤ 250 ms"
    assert row[2] == "1,620 ms"


def _section(name: str, value: str) -> Section:
    table = Table("Numbers", ["a", "b"], [["1", value]])
    return Section(name, name.title(), ["header line"], [table])


def test_write_sections_replaces_only_its_block(tmp_path):
    doc = tmp_path / "benchmarks.md"
    write_sections(doc, [_section("ingest", "old"), _section("load", "kept")])
    text = doc.read_text()
    doc.write_text("# Intro written by hand\n\n" + text + "\nClosing words.\n")

    write_sections(doc, [_section("ingest", "new")])

    text = doc.read_text()
    assert text.startswith("# Intro written by hand\n")
    assert text.rstrip().endswith("Closing words.")
    assert "| 1 | new |" in text
    assert "| 1 | old |" not in text
    assert "| 1 | kept |" in text
    assert text.count("<!-- bench:ingest:start -->") == 1


def test_write_sections_appends_a_missing_block(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Intro\n")
    write_sections(doc, [_section("refresh", "x")])
    text = doc.read_text()
    assert text.startswith("# Intro\n")
    assert "<!-- bench:refresh:start -->\n## Refresh" in text
    assert text.rstrip().endswith("<!-- bench:refresh:end -->")
