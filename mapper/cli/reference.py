"""`mapper validate`, `functions`, `types` and `schema`: check mappings, look things up."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper.cli.console import (
    ALLOWED_PATHS,
    EXIT_IO,
    EXIT_MAPPING,
    EXIT_OK,
    EXIT_USAGE,
    DiagFormat,
    FormatOpt,
    err,
    fail,
    literal,
    out,
    show_diagnostics,
    show_machine_diagnostics,
    unreadable,
    write_or_echo,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from mapper.errors import Diagnostic

    Checker: TypeAlias = Callable[[Path, dict[str, object]], tuple[list[Diagnostic], str]]
    """Checks a file that is no mapping (path, its parsed YAML): its problems and a summary."""


def validate(
    mappings: Annotated[
        list[Path],
        typer.Argument(help="Mappings, connector, jobs or serve files.", show_default=False),
    ],
    max_errors: Annotated[int, typer.Option(help="Show at most this many problems.")] = 50,
    fmt: FormatOpt = DiagFormat.text,
) -> None:
    """Compile mappings and print every problem (file:line:col, caret, did-you-mean).

    A connector file, a jobs file (`jobs:`), a serve config (`routes:`) or a case file
    (`cases:`) is checked as what it is (with the mappings it names, but for case files);
    a folder stands for its YAML files.

    `--format json|sarif|github` prints the problems on stdout for machines: one JSON
    document, a SARIF 2.1.0 log for code scanning, or GitHub workflow annotations.

    Example: `mapper validate mappings/github/push.yaml`
    """
    from mapper.api import compile_path
    from mapper.cli.connector import check_connector_file
    from mapper.connector.loader import is_connector_file

    failed, missing, every = False, False, []
    for mapping in _yaml_files(mappings):
        connector = is_connector_file(mapping)  # connector.yaml: its mappings, then the lint
        document = {} if connector else _document(mapping)
        kind = check_connector_file if connector else _other_kind(document)
        if kind is not None:  # a connector, jobs, serve or case file: checked as what it is
            diags, summary = kind(mapping, document)
            every += diags
            bad = any(d.is_error for d in diags) or (connector and not summary)
            failed |= bad
            missing |= any(d.code == "connector.unreadable" for d in diags)
            if fmt is DiagFormat.text:
                show_diagnostics(diags, max_errors)
                if not bad:
                    err.print(f"[green]✓[/] {literal(str(mapping))}: {literal(summary)}")
            continue
        plan, diags = compile_path(mapping, allow=tuple(ALLOWED_PATHS))
        library = "define" in document and "objects" not in document
        if plan is None and [d.code for d in diags] == ["spec.no-objects"] and library:
            if fmt is DiagFormat.text:
                name = literal(str(mapping))
                err.print(f"[green]✓[/] {name}: definitions only (used with `include:`)")
            continue
        every += diags
        failed |= plan is None
        missing |= plan is None and unreadable(diags, mapping)
        if fmt is not DiagFormat.text:
            continue
        show_diagnostics(diags, max_errors)
        if plan is not None:
            types = ", ".join((*plan.object_types, *(f"{k}s" for k in plan.identity_kinds)))
            err.print(f"[green]✓[/] {literal(str(mapping))}: {len(plan.rules)} rule(s) → {types}")
            for param in plan.params:  # what `--param` must give
                given = "required" if param.required else f"default {json.dumps(param.default)}"
                about = f": {param.description}" if param.description else ""
                line = f"    param {param.name} ({param.type}, {given}){about}"
                err.print(literal(line))
    show_machine_diagnostics(fmt, every)
    raise typer.Exit(EXIT_IO if missing else EXIT_MAPPING if failed else EXIT_OK)


def _yaml_files(paths: list[Path]) -> list[Path]:
    """The files to check: a folder stands for its `*.yaml` and `*.yml` files (not those of
    its subfolders), in name order; a folder without any stays, to be reported unreadable."""
    found: list[Path] = []
    for path in paths:
        inside = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else []
        found += inside or [path]
    return found


def _document(path: Path) -> dict[str, object]:
    """The file's top-level YAML mapping ({} when it is none or does not parse)."""
    from mapper.language.loader import parse_yaml
    from mapper.language.mapfiles import read_mapping_file

    text, _ = read_mapping_file(path)
    data, _smap, _diags = parse_yaml(text or "", str(path))
    return data if isinstance(data, dict) else {}


def _other_kind(document: dict[str, object]) -> "Checker | None":
    """How to check a file that is no mapping: a jobs file (`jobs:`), a serve config
    (`routes:`) or a case file (`cases:`); None for a mapping (or anything else, which the
    mapping checks report)."""
    keys = set(document)
    if "objects" in keys:
        return None
    if "jobs" in keys:
        return _check_jobs
    if "routes" in keys:
        return _check_serve
    if "cases" in keys:
        return _check_cases
    return None


def _check_cases(path: Path, document: dict[str, object]) -> "tuple[list[Diagnostic], str]":
    """A case file's shape (a case may expect its mapping to fail: `mapper test` runs them)."""
    from mapper.authoring.casefile import load_cases

    cases, diags = load_cases(path)
    return diags, f"case file: {len(cases)} case(s); `mapper test` runs them"


def _check_jobs(path: Path, document: dict[str, object]) -> "tuple[list[Diagnostic], str]":
    """A jobs file's own problems, then those of every mapping it names (each compiled once)."""
    from mapper.api import compile_path
    from mapper.run.jobs import load_jobs

    jobs, diags = load_jobs([path])
    mappings = list(dict.fromkeys(job.mapping for job in jobs))
    for mapping in mappings:
        diags += compile_path(mapping, allow=tuple(ALLOWED_PATHS))[1]
    return diags, f"jobs file: {len(jobs)} job(s), {len(mappings)} mapping(s)"


def _check_serve(path: Path, document: dict[str, object]) -> "tuple[list[Diagnostic], str]":
    """A serve config as `mapper serve` reads it; an unset secret is a warning here (it is
    given where the server runs, not where the config is checked)."""
    from dataclasses import replace

    from mapper.serve.config import load_config

    config, diags = load_config(path)
    diags = [
        replace(d, severity="warning") if d.code == "serve.secret-missing" else d for d in diags
    ]
    if config is not None:
        routes = len(config.routes)
    else:  # its only errors were unset secrets
        listed = document.get("routes")
        routes = len(listed) if isinstance(listed, list) else 0
    return diags, f"serve config: {routes} route(s)"


def functions(
    name: Annotated[str | None, typer.Argument(help="One function.", show_default=False)] = None,
) -> None:
    """List the custom JMESPath functions: signature, summary, examples.

    Example: `mapper functions to_rfc3339`
    """
    from mapper.functions import function_docs

    docs = function_docs()
    if name and name not in {d.name for d in docs}:
        from mapper.errors import suggest

        hint = suggest(name, [d.name for d in docs]) or "see `mapper functions`"
        fail(EXIT_USAGE, message=f"unknown function {name!r}; {hint}")
    for doc in docs:
        if name and doc.name != name:
            continue
        if name:  # the whole docstring (the summary is its first line; the signature is above)
            parts = doc.doc.split("\n\n")
            text = "\n\n".join(p for p in parts if not p.startswith("Signature:")).strip()
            out.print(f"[bold]{doc.signature}[/]\n{literal(text)}")
        else:
            out.print(f"[bold]{doc.signature}[/]\n  {doc.summary}")
            for example in doc.examples[:1]:
                out.print(f"  [dim]e.g.[/] {example.text}")


def types(
    name: Annotated[str | None, typer.Argument(help="One object type.", show_default=False)] = None,
) -> None:
    """List the Teamwork Graph object types, or one type's fields (* = required).

    Example: `mapper types atlassian:commit`
    """
    from mapper.model import OBJECT_TYPES
    from mapper.model.introspect import describe_type

    if name is None:
        for type_name, model in OBJECT_TYPES.items():
            out.print(f"[bold]{type_name}[/]  {(model.__doc__ or '').strip().splitlines()[0]}")
        return
    if name not in OBJECT_TYPES:
        from mapper.model.common import type_name_hint

        fail(EXIT_USAGE, message=f"unknown type {name!r}; {type_name_hint(name)}")

    def show(fields, indent: int) -> None:  # type: ignore[no-untyped-def]
        for f in fields:
            star = "[red]*[/]" if f.required else " "
            out.print(
                f"{' ' * indent}{star} [bold]{f.name}[/] [dim]{f.kind}[/]  {f.description}"
            )
            show(f.children, indent + 4)

    show(describe_type(name), 0)


def schema(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of mapping files (for YAML editor completion).

    Example: `mapper schema -o mapping.schema.json`
    """
    from mapper.language.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    write_or_echo(text, output)
