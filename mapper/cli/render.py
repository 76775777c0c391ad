"""Terminal rendering with rich: diagnostics, run summaries, object panels, explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mapper.cli.plain import diagnostic_lines
from mapper.cli.visible import visible, visible_json
from mapper.engine.tracing import FieldTrace
from mapper.errors import Diagnostic, render
from mapper.records import BadRecord, MappedObject, Record, RecordResult
from mapper.run.report import RunReport


def diagnostics(console: Console, diags: Iterable[Diagnostic], max_errors: int = 50) -> None:
    """Print diagnostics sorted by position, errors in red, warnings in yellow."""
    for line, style in diagnostic_lines(diags, max_errors):
        console.print(Text(line, style=style))


def summary(console: Console, report: RunReport, *, ok: bool = True) -> None:
    """The run summary: counts per type, the balance, top problems, timing. Input problems are
    printed by the caller (they are errors, shown even without a summary). The balance is
    marked with a green ✓ only when the run succeeded (`ok`)."""
    table = Table(title="run summary", show_header=True, header_style="bold")
    table.add_column("object type")
    table.add_column("objects", justify="right")
    for name, count in sorted(report.objects_by_type.items()):
        table.add_row(Text(name), f"{count:,}")
    table.add_row(Text("total", style="bold"), Text(f"{report.objects_out:,}", style="bold"))
    console.print(table)
    for number, (line, balanced) in enumerate(counts_lines(report)):
        mark = _balance_mark(report, ok) if number == 0 else (
            Text("✓", style="green") if balanced else Text("✗ MISMATCH", style="red"))
        console.print(Text.assemble(line + " ", mark))
    for code, count in report.problems.most_common(5):
        console.print(Text(f"{count:>6,} × {code}", style="red"))
        for example in report.examples.get(code, [])[:1]:
            console.print(Text("         " + visible(example).replace("\n", "\n         ")))
    for code, count in report.warnings.most_common(3):
        console.print(Text(f"{count:>6,} × warning {code}", style="yellow"))
    rate = report.records_in / report.duration_s if report.duration_s > 0 else 0.0
    console.print(
        Text(
            f"took {report.duration_s:.2f}s ({rate:,.0f} records/s)"
            + (f"; stopped early: {report.stopped_early}" if report.stopped_early else "")
        )
    )


def counts_lines(report: RunReport) -> list[tuple[str, bool]]:
    """The balance lines of a summary: records (always) and items (when they differ)."""
    partial = f"{report.records_partial:,} partly mapped + " if report.records_partial else ""
    lines = [
        (
            f"records: {report.records_in:,} in = {report.records_mapped:,} mapped + {partial}"
            f"{report.records_rejected:,} rejected + {report.records_filtered:,} filtered",
            report.records_balanced,
        )
    ]
    if report.items_in != report.records_in or report.records_partial or report.items_held_back:
        held = f" ({report.items_held_back} held back)" if report.items_held_back else ""
        lines.append(
            (
                f"items: {report.items_in:,} in = {report.objects_out:,} objects + "
                f"{report.items_rejected:,} rejected{held} + {report.items_filtered:,} filtered",
                report.items_balanced,
            )
        )
    return lines


def _balance_mark(report: RunReport, ok: bool) -> Text:
    """✓ in green for a balanced, successful run; in yellow when records were rejected; a red
    ✗ when the counts do not balance or an input could not be read."""
    if not report.is_balanced:
        return Text("✗ MISMATCH", style="red")
    if report.input_problems:
        return Text("✗ input problems (above)", style="red")
    if not ok or report.records_rejected:
        return Text("✓ (some records rejected)", style="yellow")
    return Text("✓", style="green")


def _value_text(value: Any) -> Text:
    if isinstance(value, dict | list):
        return Text(visible_json(json.dumps(value, ensure_ascii=False)), style="cyan")
    if isinstance(value, str):
        return Text(visible(value), style="green")
    return Text(json.dumps(value), style="magenta")


def _fields_grid() -> Table:
    """Two columns, name and value; long values fold onto more lines instead of being cut."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def object_panel(obj: MappedObject, defaulted: set[str], index: int) -> Panel:
    """One object: fields aligned, defaulted values marked.

    Print it with `soft_wrap=False`: a soft-wrapping console crops lines at the panel's edge.
    """
    grid = _fields_grid()
    for key, value in obj.payload.items():
        if key == obj.type_name and isinstance(value, dict):
            continue
        mark = Text(" (default)", style="yellow") if key in defaulted else Text("")
        grid.add_row(Text(visible(key)), _value_text(value) + mark)
    block = obj.payload.get(obj.type_name)
    parts: list[Any] = [grid]
    if isinstance(block, dict):
        inner = _fields_grid()
        for key, value in block.items():
            inner.add_row(Text(visible(key)), _value_text(value))
        parts.append(
            Panel(inner, title=Text(obj.type_name), title_align="left", border_style="dim")
        )
    where = visible(f"({obj.rule}{' ' + obj.pointer if obj.pointer else ''})")
    title = Text.assemble(f"#{index} {obj.type_name} ", (where, "dim"))
    return Panel(Group(*parts), title=title, title_align="left")


def rejected_panel(result: RecordResult) -> Panel:
    """A record with rejected items, its problems in place (print it with `soft_wrap=False`)."""
    diags = result.diagnostics
    label = "partly mapped" if result.objects else "rejected"
    return _problems_panel(result.record.source, result.record.index, diags, label)


def bad_record_panel(bad: BadRecord) -> Panel:
    """A record that could not be parsed, with its problem (print it with `soft_wrap=False`)."""
    return _problems_panel(bad.source, bad.index, (bad.diagnostic,))


def _problems_panel(
    source: str, index: int, problems: Iterable[Diagnostic], label: str = "rejected"
) -> Panel:
    lines = [
        Text(visible(render(d)), style="red" if d.is_error else "yellow", overflow="fold")
        for d in problems
    ]
    title = Text.assemble((label, "red"), f" {visible(source)} #{index}")
    return Panel(Group(*lines), title=title, title_align="left", border_style="red")


_STATUS_STYLES = {
    "ok": "green",
    "omitted": "dim",
    "defaulted": "yellow",
    "rejected": "red",
    "filtered": "dim",
    "not-built": "red",
}


VALUE_LIMIT = 100
"""`explain` cuts values and expressions longer than this; `--json` has them in full."""


def traces(console: Console, items: list[FieldTrace]) -> None:
    """The `explain` view: a heading per rule and item (`commit[1] → atlassian:commit`), then a
    row per field: its name, its status, and its value (`raw → final` only when validation or a
    default changed it) with the expression and why it is null beneath. Every cell is literal
    text (expressions and values hold `[...]`)."""
    cut = False
    longest = max((len(t.field) for t in items), default=0)
    field_width = min(longest, console.width * 3 // 10)
    for (rule, item, type_name), grouped in groupby(items, _group_key):
        group = list(grouped)
        heading = Text(visible(f"{rule}[{item}]"), style="bold")
        heading.append(visible(f" → {type_name}") if type_name else "")
        if any(t.status == "not-built" for t in group):
            heading.append("  not built: see the record's problems", style="red")
        console.print(heading, soft_wrap=False)
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 2))
        table.add_column("field", width=field_width, overflow="fold")
        table.add_column("status", no_wrap=True, width=9)
        table.add_column("value", ratio=1, overflow="fold")
        for t in group:
            value, shortened = _trace_value(t)
            cut |= shortened
            table.add_row(Text(visible(t.field)), _status_text(t.status), value)
        console.print(table, soft_wrap=False)
    if cut:
        console.print(
            Text(f"(values longer than {VALUE_LIMIT} characters are cut: --json has them whole)",
                 style="dim")
        )


def _group_key(t: FieldTrace) -> tuple[str, int, str]:
    return t.rule, t.item, t.type_name


def _trace_value(t: FieldTrace) -> tuple[Text, bool]:
    """The value cell (the value, then the expression and the reason, dim) and whether a value
    in it was cut."""
    raw = _short(t.raw)
    cell = Text(visible(raw))
    changed = t.final is not None and not _same(t.raw, t.final)
    final = _short(t.final) if changed else ""
    if changed:
        cell.append(" → ", style="dim")
        cell.append(visible(final))
    expression = " ".join(t.source.split())  # one line: a folded YAML expression keeps its breaks
    cell.append("\n← " + visible(_cut(expression)), style="dim")
    style = "yellow" if t.status != "ok" else "dim"
    if t.reason and t.status != "not-built":  # the heading says it once
        cell.append("\n" + visible(t.reason), style=style)
    if t.cause and t.cause not in t.reason:
        cell.append("\n" + visible(t.cause), style=style)
    return cell, raw.endswith("…") or final.endswith("…")


def _status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def _cut(text: str, limit: int = VALUE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A value as JSON (`"text"`, `null`, `[1, 2]`), never a Python repr, cut at `limit`."""
    return _cut(json.dumps(value, ensure_ascii=False, default=str), limit)


def _same(raw: Any, final: Any) -> bool:
    """The final value is the raw one: shown once."""
    return raw is not None and type(raw) is type(final) and raw == final


def rejections(seen: Iterable[Record | BadRecord], results: Iterable[RecordResult]) -> list[Panel]:
    """Panels of the rejected and unparsable records among `seen`, in input order.

    `results` are the results of the `Record`s of `seen`, in the same order.
    """
    outcome = iter(results)
    panels = []
    for item in seen:
        if isinstance(item, BadRecord):
            panels.append(bad_record_panel(item))
        elif (result := next(outcome, None)) is not None and result.rejected:
            panels.append(rejected_panel(result))
    return panels
