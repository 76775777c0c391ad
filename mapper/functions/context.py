"""The per-record evaluation context, and record(), source() and lookup() that read it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from jmespath.functions import signature

from mapper.errors import EvalError, suggest
from mapper.functions.arguments import STRING, TEXTUAL, as_id

NO_LOOKUPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({})


class EvalContext(NamedTuple):
    """What the functions may know about the record being evaluated.

    The interpreter replaces `MapperFunctions.context` before it evaluates each record (a
    NamedTuple: immutable, and the cheapest such object to build once per record).
    `lookups` maps a table name to its rows keyed by string.
    """

    record: Any = None
    source: str = ""
    lookups: Mapping[str, Mapping[str, Any]] = NO_LOOKUPS


class ContextFunctions:
    """record(), source() and lookup(): the only functions whose result depends on the context."""

    context: EvalContext

    @signature()
    def _func_record(self) -> Any:
        """The whole input record, also from inside an `each:` item.

        Signature: record() -> any

        Examples:
            record().repository.id | data: {"repository": {"id": 42}} => 42
            items[].[name, record().repo]
                | data: {"repo": "r1", "items": [{"name": "a"}]} => [["a", "r1"]]
        """
        return self.context.record

    @signature()
    def _func_source(self) -> str:
        """The name of the input file the record came from ("-" for standard input).

        Signature: source() -> string

        Examples:
            source() => "samples/example.json"
        """
        return self.context.source

    @signature({"types": STRING}, {"types": TEXTUAL})
    def _func_lookup(self, table: str, key: str | float | None) -> Any:
        """The row of lookup table `table` whose key is `key`, or null if there is none.

        Numeric keys are compared as strings (`42` finds the row "42"). A null key gives null.
        An unknown table name is an error (function.unknown-lookup): declare it under `lookups:`.

        Signature: lookup(table: string, key: string|number|null) -> any

        Examples:
            lookup('users', 'U1').email => "dana@example.com"
            lookup('users', author) | data: {"author": "U9"} => null
            lookup('users', `42`).name => "Answer"
        """
        rows = self.context.lookups.get(table)
        if rows is None:
            hint = suggest(table, self.context.lookups)
            message = f"no lookup table named {table!r}" + (f"; {hint}" if hint else "")
            raise EvalError("function.unknown-lookup", message)
        text = as_id(key)
        return None if text is None else rows.get(text)
