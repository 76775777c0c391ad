"""Reference documentation of the custom functions, parsed from their docstrings.

A custom function's docstring has a one-line summary, a `Signature:` line and an `Examples:`
section. Each example is one line `<expression> => <JSON result>`, optionally
`<expression> | data: <JSON input> => <JSON result>`. A long example or signature continues on
the following lines indented deeper than its first line (they are joined with a space). The
tests run every example, with record() returning the example's data, source() returning
`EXAMPLE_SOURCE`, the lookup tables of `EXAMPLE_LOOKUPS` and the parameters of `EXAMPLE_PARAMS`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mapper.functions.context import EvalContext
from mapper.functions.registry import CUSTOM_FUNCTIONS, MapperFunctions

EXAMPLE_SOURCE = "samples/example.json"
EXAMPLE_LOOKUPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "users": MappingProxyType({
        "U1": {"name": "Dana", "email": "dana@example.com"},
        "42": {"name": "Answer"},
    }),
})  # fmt: skip


EXAMPLE_PARAMS: Mapping[str, Any] = MappingProxyType({"base_url": "https://acme.example"})


@dataclass(frozen=True, slots=True)
class FunctionExample:
    """One documented call: the expression, the data it runs on, and the expected JSON result."""

    expression: str
    data: Any
    expected: Any
    text: str  # the example as written in the docstring (continuations joined)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class FunctionDoc:
    """Reference entry of one custom function."""

    name: str
    signature: str  # e.g. "to_rfc3339(value: string|number|null) -> string|null"
    summary: str  # the first docstring line
    doc: str  # the whole docstring, dedented
    examples: tuple[FunctionExample, ...]


def example_context(data: Any) -> EvalContext:
    """The context the examples run in: record() is the example's data."""
    return EvalContext(record=data, source=EXAMPLE_SOURCE, lookups=EXAMPLE_LOOKUPS)


def _section(lines: list[str], title: str) -> tuple[str, list[str]] | None:
    """The text after `title` on its line, and the non-blank indented lines below it."""
    start = next((i for i, line in enumerate(lines) if line.startswith(title)), None)
    if start is None:
        return None
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line and not line[0].isspace():
            break
        body.append(line)
    return lines[start][len(title) :].strip(), [line for line in body if line.strip()]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _joined(lines: list[str]) -> list[str]:
    """Items of a section: each line indented deeper than the first is joined to the one above."""
    joined: list[str] = []
    for line in lines:
        if joined and _indent(line) > _indent(lines[0]):
            joined[-1] += " " + line.strip()
        else:
            joined.append(line.strip())
    return joined


def parse_example(text: str) -> FunctionExample:
    """Parse `<expr> [| data: <json>] => <json>`.

    Raises:
        ValueError: the line has no ` => ` or invalid JSON.
    """
    left, sep, expected = text.rpartition(" => ")
    if not sep:
        raise ValueError(f"example without ' => ': {text!r}")
    expression, _, data = left.partition(" | data: ")
    return FunctionExample(
        expression.strip(), json.loads(data) if data else None, json.loads(expected), text
    )


def parse_doc(name: str, docstring: str) -> FunctionDoc:
    """The `FunctionDoc` of function `name` from its docstring.

    Raises:
        ValueError: the docstring has no summary, no `Signature:` line or a malformed example.
    """
    doc = inspect.cleandoc(docstring)
    lines = doc.splitlines()
    signature, examples = _section(lines, "Signature:"), _section(lines, "Examples:")
    if not lines or signature is None or not signature[0]:
        raise ValueError(f"{name}: docstring needs a summary line and a 'Signature:' line")
    if examples is not None and examples[0]:
        raise ValueError(f"{name}: put examples on the lines after 'Examples:'")
    parsed = tuple(map(parse_example, _joined(examples[1]) if examples else []))
    text = " ".join([signature[0], *(line.strip() for line in signature[1])])
    return FunctionDoc(name, text, lines[0], doc, parsed)


def function_docs() -> list[FunctionDoc]:
    """Reference entries of all custom functions, sorted by name (`mapper functions`, README)."""
    table = MapperFunctions.FUNCTION_TABLE
    return [parse_doc(name, table[name]["function"].__doc__ or "") for name in CUSTOM_FUNCTIONS]
