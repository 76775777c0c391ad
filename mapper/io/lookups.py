"""Side tables of a mapping (`lookups:`): found next to the inputs, read once, keyed rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic
from mapper.io.inputs import parse_json
from mapper.language.plan import LookupTable


class LookupCache:
    """Loads `lookups:` tables on first use, found next to (or above) the input files."""

    def __init__(self, tables: Iterable[LookupTable], overrides: Mapping[str, str] | None = None):
        self.tables = {t.name: t for t in tables}
        self.overrides = dict(overrides or {})
        self.loaded: dict[str, dict[str, Any]] = {}
        self.problems: list[Diagnostic] = []
        self.missing: set[str] = set()

    def for_source(self, source: str) -> dict[str, Mapping[str, Any]]:
        """The tables to use for records of `source`."""
        return {name: self._table(t, source) for name, t in self.tables.items()}

    def _table(self, table: LookupTable, source: str) -> Mapping[str, Any]:
        path = self.overrides.get(table.name) or find_lookup_file(table.file, source)
        if path is None:
            if table.name not in self.missing:
                self.missing.add(table.name)
                self.problems.append(
                    Diagnostic(
                        "lookup.not-found",
                        f"lookup {table.name!r}: no {table.file} in the folder of "
                        f"{source} or above it; its rows read as null",
                        span=table.span,
                        hint=f"pass it with --lookup {table.name}=PATH",
                    )
                )
            return {}
        if path not in self.loaded:
            self.loaded[path] = self._load(table, path)
        return self.loaded[path]

    def _load(self, table: LookupTable, path: str) -> dict[str, Any]:
        try:
            doc = parse_json(Path(path).read_bytes())
        except (OSError, ValueError) as err:
            self.problems.append(
                Diagnostic(
                    "lookup.unreadable",
                    f"lookup {table.name!r}: cannot read {path}: {err}",
                    span=table.span,
                )
            )
            return {}
        rows = table.records.evaluate(doc) if table.records else doc
        index: dict[str, Any] = {}
        for row in rows if isinstance(rows, list) else []:
            key = table.key.evaluate(row)
            if key is not None:
                index.setdefault(str(key), row)
        return index


def find_lookup_file(name: str, source: str) -> str | None:
    """The lookup file `name` for records of `source`: in its folder or the nearest above."""
    start = Path.cwd() if source == "-" else Path(source).resolve().parent
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    return None
