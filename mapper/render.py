"""Terminal rendering with rich: diagnostics, run summaries, object panels, explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mapper.errors import Diagnostic, render, sort_key
from mapper.explain import FieldTrace
from mapper.interpreter import MappedObject, RecordResult
from mapper.pipeline import RunReport


def diagnostics(console: Console, diags: Iterable[Diagnostic], max_errors: int = 50) -> None:
    """Print diagnostics sorted by position, errors in red, warnings in yellow."""
    ordered = sorted(diags, key=sort_key)
    for d in ordered[:max_errors]:
        style = "red" if d.is_error else "yellow"
        head, *rest = render(d).split("\n")
        console.print(Text(head, style=style))
        for line in rest:
            console.print(Text(line, style="cyan" if line.strip() == "^" else ""))
    if len(ordered) > max_errors:
        console.print(f"... and {len(ordered) - max_errors} more")


def summary(console: Console, report: RunReport) -> None:
    """The run summary: counts per type, the balance, top problems, timing."""
    table = Table(title="run summary", show_header=True, header_style="bold")
    table.add_column("object type")
    table.add_column("objects", justify="right")
    for name, count in sorted(report.objects_by_type.items()):
        table.add_row(name, str(count))
    table.add_row("[bold]total[/]", f"[bold]{report.objects_out}[/]")
    console.print(table)
    ok = "[green]✓[/]" if report.is_balanced else "[red]✗ MISMATCH[/]"
    console.print(
        f"records: {report.records_in} in = {report.records_mapped} mapped + "
        f"{report.records_rejected} rejected + {report.records_filtered} filtered {ok}"
    )
    for code, count in report.problems.most_common(5):
        console.print(f"[red]{count:>6} × {code}[/]")
        for example in report.examples.get(code, [])[:1]:
            console.print(Text("         " + example.replace("\n", "\n         ")))
    for code, count in report.warnings.most_common(3):
        console.print(f"[yellow]{count:>6} × warning {code}[/]")
    for problem in report.input_problems:
        console.print(Text(str(problem), style="red"))
    rate = report.records_in / report.duration_s if report.duration_s > 0 else 0.0
    console.print(
        f"took {report.duration_s:.2f}s ({rate:,.0f} records/s)"
        + (f"; stopped early: {report.stopped_early}" if report.stopped_early else "")
    )


def _value_text(value: Any) -> Text:
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False), style="cyan")
    if isinstance(value, str):
        return Text(value, style="green")
    return Text(json.dumps(value), style="magenta")


def object_panel(obj: MappedObject, defaulted: set[str], index: int) -> Panel:
    """One object: fields aligned, defaulted values marked."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for key, value in obj.payload.items():
        if key == obj.type_name and isinstance(value, dict):
            continue
        mark = Text(" (default)", style="yellow") if key in defaulted else Text("")
        grid.add_row(key, _value_text(value) + mark)
    block = obj.payload.get(obj.type_name)
    parts: list[Any] = [grid]
    if isinstance(block, dict):
        inner = Table.grid(padding=(0, 2))
        inner.add_column(style="bold", no_wrap=True)
        inner.add_column()
        for key, value in block.items():
            inner.add_row(key, _value_text(value))
        parts.append(Panel(inner, title=obj.type_name, title_align="left", border_style="dim"))
    title = (
        f"#{index} {obj.type_name} [dim]({obj.rule}{' ' + obj.pointer if obj.pointer else ''})[/]"
    )
    return Panel(Group(*parts), title=title, title_align="left")


def rejected_panel(result: RecordResult) -> Panel:
    """A rejected record with its problems in place."""
    lines = [Text(render(d), style="red" if d.is_error else "yellow") for d in result.diagnostics]
    title = f"[red]rejected[/] {result.record.source} #{result.record.index}"
    return Panel(Group(*lines), title=title, title_align="left", border_style="red")


def traces(console: Console, items: list[FieldTrace]) -> None:
    """The `explain` table."""
    table = Table(show_lines=False, header_style="bold")
    for col in ("rule", "field", "expression", "raw value", "final value", "status"):
        table.add_column(col, overflow="fold")
    styles = {
        "ok": "green",
        "omitted": "dim",
        "defaulted": "yellow",
        "rejected": "red",
        "filtered": "dim",
        "not-built": "red",
    }
    for t in items:
        status = Text(t.status, style=styles.get(t.status, ""))
        if t.reason:
            status.append(f"\n{t.reason}", style="dim")
        table.add_row(
            f"{t.rule}[{t.item}]", t.field, t.source, _short(t.raw), _short(t.final), status
        )
    console.print(table)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
