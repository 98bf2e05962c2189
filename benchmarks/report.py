"""Tables of results: print them, judge targets, and write them into the doc.

Each section owns a block of docs/benchmarks.md between two HTML comments,
``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``. A run rewrites
only the blocks of the sections it ran, so ``--only refresh`` keeps the ingest
results of an earlier run, and the text outside the blocks stays as written.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in self.columns) + " |")
        for row in self.rows:
            lines.append("| " + " | ".join(row) + " |")
        if self.notes:
            lines.append("")
            lines.extend(self.notes)
        return "\n".join(lines)


def _number(value: float) -> str:
    """Format with three significant digits, without scientific notation."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass
class Target:
    """A goal such as "ratio >= 0.5" and the value one run measured for it."""

    name: str
    limit: float
    higher_is_better: bool
    measured: float | None
    unit: str = ""

    def verdict(self) -> str:
        """Say whether the target was met and by what factor."""
        if self.measured is None:
            return "not measured in this run"
        if self.limit == 0 and not self.higher_is_better:
            return "**met**" if self.measured <= 0 else "**missed**"
        if self.measured <= 0:
            return "**met**" if not self.higher_is_better else "**missed**"
        if self.higher_is_better:
            factor = self.measured / self.limit
        else:
            factor = self.limit / self.measured
        if factor >= 1:
            return f"**met**, {factor:.2f}× margin"
        return f"**missed** by {1 / factor:.2f}×"

    def row(self) -> list[str]:
        sign = "≥" if self.higher_is_better else "≤"
        measured = "—" if self.measured is None else _number(self.measured) + self.unit
        return [
            self.name,
            f"{sign} {self.limit:g}{self.unit}",
            measured,
            self.verdict(),
        ]


def targets_table(targets: list[Target]) -> Table:
    return Table(
        "Targets",
        ["target", "goal", "measured", "verdict"],
        [target.row() for target in targets],
    )


@dataclass
class Section:
    """The results of one benchmark section in one run."""

    name: str
    title: str
    header: list[str]  # lines under the title: run, command, machine
    tables: list[Table] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", *self.header]
        for error in self.errors:
            parts += ["", f"**Not measured:** {error}"]
        for table in self.tables:
            parts += ["", table.markdown()]
        return "\n".join(parts)


def _block(name: str, body: str) -> str:
    return f"<!-- bench:{name}:start -->\n{body}\n<!-- bench:{name}:end -->"


def write_sections(doc: Path, sections: list[Section]) -> None:
    """Replace each section's block in ``doc``, appending blocks not there yet."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    for section in sections:
        block = _block(section.name, section.markdown())
        pattern = re.compile(
            rf"<!-- bench:{section.name}:start -->.*?<!-- bench:{section.name}:end -->",
            re.DOTALL,
        )
        if pattern.search(text):
            text = pattern.sub(lambda _match, new=block: new, text)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    log.info("wrote %d result sections to %s", len(sections), doc)


def format_rate(rows_per_second: float | None) -> str:
    return "—" if rows_per_second is None else f"{rows_per_second:,.0f}"


def format_ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.1f}"
