"""Side tables of a mapping (`lookups:`): found next to the inputs, read once, keyed rows."""

from __future__ import annotations

import re
import stat
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
                        f"{source} or above it (up to the current folder, or "
                        f"{LOOKUP_LEVELS} levels)",
                        span=table.span,
                        hint=f"pass it with --lookup {table.name}=PATH",
                    )
                )
            return {}
        if path not in self.loaded:
            self.loaded[path] = self._remembered(table, path)
        return self.loaded[path]

    def _remembered(self, table: LookupTable, path: str) -> dict[str, Any]:
        """The table read once per process: the check before a run (`table_problems`) and the
        run itself (also its forked workers) share one read; a FIFO (`<(cat users.json)`) can
        only be read once anyway. A regular file that changed since is read again."""
        key = (table.name, table.file, table.key.text, table.records and table.records.text,
               path, _identity(path))  # fmt: skip
        if key not in _READ_TABLES:
            seen = len(self.problems)
            index = self._load(table, path)
            if len(_READ_TABLES) >= MAX_REMEMBERED:
                _READ_TABLES.pop(next(iter(_READ_TABLES)))
            _READ_TABLES[key] = (index, self.problems[seen:])
            return index
        index, problems = _READ_TABLES[key]
        self.problems.extend(problems)
        return index

    def _load(self, table: LookupTable, path: str) -> dict[str, Any]:
        try:
            doc = parse_json(read_bounded(path, MAX_LOOKUP_BYTES))
        except TooLarge:
            return self._problem(
                "lookup.too-large",
                f"lookup {table.name!r}: {path} is larger than {MAX_LOOKUP_BYTES:,} bytes",
                table,
            )
        except (OSError, ValueError) as err:
            return self._problem("lookup.unreadable", _unreadable(table.name, path, err), table)
        try:
            rows = table.records.evaluate(doc) if table.records else doc
        except Exception as err:  # a user expression over a user file
            return self._problem(
                "lookup.records-failed",
                f"lookup {table.name!r}: the records selector failed on {path}: "
                f"{type(err).__name__}",
                table,
            )
        if not isinstance(rows, list):
            return self._problem(
                "lookup.not-a-list",
                f"lookup {table.name!r}: {path} holds {_kind(rows)}, not a list of rows",
                table,
                hint="give the table `records:`, an expression selecting its rows",
            )
        return self._index(table, path, rows)

    def _index(self, table: LookupTable, path: str, rows: list[Any]) -> dict[str, Any]:
        index: dict[str, Any] = {}
        failed: list[int] = []
        for number, row in enumerate(rows):
            try:
                key = table.key.evaluate(row)
            except Exception:  # a user expression: a bad row must not stop the run
                failed.append(number)
                continue
            if key is not None:
                index.setdefault(str(key), row)
        if failed:
            first = ", ".join(str(n) for n in failed[:5])
            self._problem(
                "lookup.key-failed",
                f"lookup {table.name!r}: the key expression failed on {len(failed)} row(s) of "
                f"{path} (row {first}{', ...' if len(failed) > 5 else ''}); "
                "those rows are left out",
                table,
            )
        return index

    def _problem(
        self, code: str, message: str, table: LookupTable, hint: str | None = None
    ) -> dict[str, Any]:
        self.problems.append(Diagnostic(code, message, span=table.span, hint=hint))
        return {}


FATAL = frozenset(
    {
        "lookup.not-found",
        "lookup.unreadable",
        "lookup.too-large",
        "lookup.not-a-list",
        "lookup.records-failed",
    }
)
"""Problems with a table as a whole: a run stops before writing anything (rows whose key
fails, `lookup.key-failed`, are left out and reported with the run)."""


def table_problems(
    tables: Iterable[LookupTable], sources: Iterable[str], overrides: Mapping[str, str]
) -> list[Diagnostic]:
    """The problems (in FATAL) of the tables that records of `sources` would use."""
    cache = LookupCache(tables, overrides)
    for folder in dict.fromkeys(str(Path(s).parent / "_") if s != "-" else s for s in sources):
        cache.for_source(folder)
    return [d for d in cache.problems if d.code in FATAL]


MAX_REMEMBERED = 8
"""How many read tables a process keeps (`LookupCache._remembered`)."""
_READ_TABLES: dict[tuple[Any, ...], tuple[dict[str, Any], list[Diagnostic]]] = {}


def _identity(path: str) -> tuple[int, ...] | None:
    """Which file `path` is, and for a regular file which version (a pipe is read once: its
    device and inode, the same in forked workers, say which pipe)."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode):
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return (st.st_dev, st.st_ino)


MAX_LOOKUP_BYTES = 128 * 1024 * 1024
"""A lookup file is read whole; what is larger (or endless, like /dev/zero) is refused."""
LOOKUP_LEVELS = 3
"""How many folders above an input's folder lookups are searched when the input lies outside
the current folder (inside it, the search stops at the current folder)."""


class TooLarge(Exception):
    """A file holds more than the bytes allowed."""


def read_bounded(path: str, limit: int) -> bytes:
    """At most `limit` bytes of `path` (TooLarge beyond): sizes are counted as read, never
    taken from stat (a FIFO or /dev/zero says 0)."""
    with Path(path).open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(path)
    return data


def _unreadable(name: str, path: str, err: Exception) -> str:
    """Why a lookup file cannot be read; a parse error located as `PATH:LINE:COLUMN` (the
    parser's message only: the file's content is never echoed)."""
    if isinstance(err, OSError):
        return f"lookup {name!r}: cannot read {path}: {err.strerror or err}"
    where = re.search(r":? line (\d+) column (\d+)(?: \(char \d+\))?", str(err))
    if where is None:
        return f"lookup {name!r}: {path} is not valid JSON: {err}"
    reason = (str(err)[: where.start()] + str(err)[where.end() :]).strip() or "invalid JSON"
    return f"lookup {name!r}: {path}:{where[1]}:{where[2]}: not valid JSON: {reason}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "one JSON object"
    return "null" if value is None else f"a JSON {type(value).__name__}"


def search_folders(source: str) -> list[Path]:
    """Where the lookup files of records from `source` are searched, nearest first: its folder
    and the folders above it, up to the current folder when `source` is inside it, else at
    most LOOKUP_LEVELS above; never the file system's root."""
    cwd = Path.cwd().resolve()
    start = cwd if source == "-" else Path(source).resolve().parent
    chain = [start, *start.parents]
    if cwd in chain:
        return chain[: chain.index(cwd) + 1]
    return [f for f in chain[: LOOKUP_LEVELS + 1] if f.parent != f]


def find_lookup_file(name: str, source: str) -> str | None:
    """The lookup file `name` for records of `source`: in its folder or the nearest above it,
    within the search boundary (`search_folders`)."""
    for folder in search_folders(source):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    return None


def lookup_files(
    tables: Iterable[LookupTable], sources: Iterable[str], overrides: Mapping[str, str]
) -> dict[str, list[str]]:
    """The files each table was read from, for the run report (found per input folder)."""
    used: dict[str, list[str]] = {}
    folders = dict.fromkeys(str(Path(s).parent) if s != "-" else "-" for s in sources)
    for table in tables:
        probes = [f if f == "-" else str(Path(f) / "x") for f in folders]  # x: any file there
        files = [overrides[table.name]] if table.name in overrides else [
            found for probe in probes if (found := find_lookup_file(table.file, probe)) is not None
        ]
        used[table.name] = list(dict.fromkeys(files))
    return used
