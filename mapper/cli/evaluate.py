"""`mapper eval`: one expression on one record, with a mapping's functions, params and lookups."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

from mapper.cli.console import (
    EXIT_MAPPING,
    EXIT_OK,
    EXIT_REJECTED,
    ParamOpt,
    bind_params,
    compile_or_exit,
    err,
    literal,
    show_diagnostics,
)
from mapper.cli.inspect import _no_record, _nth_record, read_items
from mapper.records import Record


def eval_cmd(
    expression: Annotated[str, typer.Argument(help="JMESPath expression.", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="Input files.", show_default=False)],
    record: Annotated[int, typer.Option("--record", help="0-based record index.", min=0)] = 0,
    mapping: Annotated[
        Path | None,
        typer.Option("-m", "--mapping", help="Use this mapping's records, params and lookups."),
    ] = None,
    records: Annotated[str | None, typer.Option("--records", help="Records selector.")] = None,
    param: ParamOpt = [],  # noqa: B006
) -> None:
    """Print the value of EXPRESSION for one record (JSON on stdout), or its located error.

    Exit codes: 0 a value (null included), 1 the expression does not compile, 3 it failed on the
    record, 4 the input cannot be read or has no such record.

    Example: `mapper eval "commits[].id" samples/github/push-webhook.json`
    """
    from mapper.engine.interpreter import evaluate_expr
    from mapper.functions import EvalContext, MapperFunctions
    from mapper.io.lookups import LookupCache
    from mapper.language.compiler import compile_standalone
    from mapper.run.pipeline import wrapper_hint

    plan: Any
    if mapping is not None:
        plan = compile_or_exit(mapping, cache=True)
        bind_params(plan, param)
    else:
        plan = SimpleNamespace(records=None, functions=MapperFunctions(), lookups=(), params=())
        if param:
            bind_params(plan, param)  # every name is unknown without a mapping: a usage error
    expr, diags = compile_standalone(
        expression, plan.functions, "EXPRESSION", plan=plan if mapping is not None else None
    )
    show_diagnostics(diags)
    if expr is None or any(d.is_error for d in diags):
        raise typer.Exit(EXIT_MAPPING)
    missing, items = read_items(plan, inputs, records)
    target, met = _nth_record(items, record)
    show_diagnostics([p.diagnostic for p in missing] + met)
    if not isinstance(target, Record):
        _no_record(target, record)
    cache = LookupCache(plan.lookups)
    lookups = cache.for_source(target.source) if plan.lookups else {}
    show_diagnostics(cache.problems)
    plan.functions.context = EvalContext(target.data, target.source, lookups)
    value, problems = evaluate_expr(expr, target)
    selected = records is not None or plan.records is not None
    hint = None if selected else wrapper_hint(target.data)
    if problems:
        show_diagnostics(problems)
    else:
        typer.echo(json.dumps(value, ensure_ascii=False, indent=2))
    if hint and (problems or value is None):
        err.print(f"[yellow]hint:[/] {literal(hint)}")
    raise typer.Exit(EXIT_REJECTED if problems else EXIT_OK)
