"""YAML text -> (data, SourceMap) -> MappingSpec, with every problem located at file:line:col.

Only this module imports `yaml`. Loading is safe by construction: nodes are composed with
PyYAML's SafeLoader and turned into Python values here, so unknown tags (`!!python/object`...)
are errors, aliases are counted against an expansion limit and duplicate keys are reported.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.language.shapes import validate_shape
from mapper.language.spec import LibrarySpec, MappingSpec

MAX_MAPPING_BYTES = 2 * 1024 * 1024
READS: ContextVar[dict[str, bytes] | None] = ContextVar("mapper_reads", default=None)
"""When set, every mapping file read is noted here (resolved path -> bytes): the compiled-
mapping cache keeps a plan with the files it came from (`mapper.io.plancache`)."""
MAX_NODES = 200_000
MAX_DEPTH = 100
MAX_INCLUDE_DEPTH = 10

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


@dataclass
class SourceMap:
    """Positions of YAML nodes by mapping location: values and the keys that hold them."""

    path: str
    values: dict[Loc, SourceSpan] = field(default_factory=dict)
    keys: dict[Loc, SourceSpan] = field(default_factory=dict)
    quoted: dict[Loc, bool] = field(default_factory=dict)

    def span(self, loc: Loc, *, prefer_key: bool = False) -> SourceSpan | None:
        """The closest known position for `loc` (walking up to its parents)."""
        for end in range(len(loc), -1, -1):
            sub = loc[:end]
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for t in table:
                if sub in t:
                    return t[sub]
        return None

    def locate(self, diag: Diagnostic, *, prefer_key: bool = False) -> Diagnostic:
        """Attach the span of the diagnostic's loc, unless it already has one."""
        if diag.span is not None:
            return diag
        from dataclasses import replace

        return replace(diag, span=self.span(diag.loc, prefer_key=prefer_key))


@dataclass(frozen=True)
class LoadedMapping:
    """A validated mapping with its positions and the definitions it includes."""

    spec: MappingSpec
    smap: SourceMap
    path: str
    defines: dict[str, tuple[Any, SourceMap, Loc]]


class _Builder:
    """Turns composed YAML nodes into Python values, recording positions and problems."""

    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.diags: list[Diagnostic] = []
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def span(self, node: yaml.Node) -> SourceSpan:
        mark = node.start_mark
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") and mark.buffer:
            return self._block_span(mark, mark.buffer)
        return SourceSpan(self.smap.path, mark.line + 1, mark.column + 1)

    def _block_span(self, mark: yaml.Mark, text: str) -> SourceSpan:
        """A block scalar (`|`, `>-`) starts on the line after its indicator: point there."""
        start = text.find("\n", mark.pointer)
        line_no = mark.line + 2
        while start >= 0:
            end = text.find("\n", start + 1)
            line = text[start + 1 : end if end >= 0 else None]
            if line.strip():
                return SourceSpan(self.smap.path, line_no, len(line) - len(line.lstrip()) + 1)
            start, line_no = end, line_no + 1
        return SourceSpan(self.smap.path, mark.line + 1, mark.column + 1)

    def problem(
        self, code: str, msg: str, node: yaml.Node, loc: Loc, hint: str | None = None
    ) -> None:
        self.diags.append(Diagnostic(code, msg, loc=loc, span=self.span(node), hint=hint))

    def build(self, node: yaml.Node, loc: Loc, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node)
        if depth > MAX_DEPTH:
            self.problem("yaml.too-deep", f"nesting deeper than {MAX_DEPTH} levels", node, loc)
            return None
        self.smap.values.setdefault(loc, self.span(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, loc)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.build(child, (*loc, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self.mapping(node, loc, depth)
        self.problem(
            "yaml.unsafe-tag",
            f"tag {node.tag!r} is not allowed in a mapping",
            node,
            loc,
            "only plain YAML values (text, numbers, booleans, null, lists, maps) are read",
        )
        return None

    def scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.problem(
                "yaml.unsafe-tag", f"tag {node.tag!r} is not allowed in a mapping", node, loc
            )
            return None
        self.smap.quoted[loc] = node.style in ("'", '"')
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, dt.datetime | dt.date):
            return node.value  # keep dates as the text the author wrote
        if node.style is None and node.tag != _STR:
            self.surprise(node, value, loc)
        return value

    def surprise(self, node: yaml.ScalarNode, value: Any, loc: Loc) -> None:
        """Warn where YAML 1.1 reads plain text as something else: `0777` is 511, `1:20` is 80,
        `on`/`no` are booleans (YAML 1.2 and most readers would keep text or another value)."""
        text = node.value
        if isinstance(value, bool) and text.lower() in _YAML11_BOOLEANS:
            what = f"the boolean {str(value).lower()}"
        elif isinstance(value, int | float) and not isinstance(value, bool) and (
            _SEXAGESIMAL.fullmatch(text) or _OCTAL.fullmatch(text)
        ):
            what = f"the number {value!r}"
        else:
            return
        self.diags.append(
            Diagnostic(
                "yaml.implicit-type",
                f"{text} is read as {what} (a YAML 1.1 rule)",
                loc=loc,
                span=self.span(node),
                severity="warning",
                hint=f"quote it to keep the text: '{text}'",
            )
        )

    def mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, loc)
            if key is None:
                continue
            child = (*loc, key)
            if key in out:
                self.problem(
                    "yaml.duplicate-key",
                    f"key {key!r} appears twice",
                    key_node,
                    child,
                    "YAML would silently keep only the last one",
                )
                continue
            self.smap.keys[child] = self.span(key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def key(self, node: yaml.Node, loc: Loc) -> str | None:
        if node.tag == "tag:yaml.org,2002:merge":
            self.problem(
                "yaml.merge-key",
                "YAML merge keys (<<) are not supported",
                node,
                loc,
                "share values with `define:` and `{use: NAME}` instead",
            )
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            self.problem(
                "yaml.non-string-key",
                "keys must be plain text",
                node,
                loc,
                'quote the key, e.g. "1": ... or "true": ...',
            )
            return None
        return str(node.value)


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def parse_yaml(text: str, path: str) -> tuple[Any, SourceMap, list[Diagnostic]]:
    """Parse YAML text into plain data and a SourceMap; never raises for bad input."""
    smap = SourceMap(path)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MAPPING_BYTES:
        msg = f"mapping is larger than {MAX_MAPPING_BYTES // (1024 * 1024)} MiB"
        return None, smap, [Diagnostic("yaml.too-large", msg, span=SourceSpan(path, 1, 1))]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        return None, smap, [_yaml_error(err, path)]
    except yaml.YAMLError as err:  # e.g. reader errors on control characters
        return None, smap, [Diagnostic("yaml.syntax", str(err), span=SourceSpan(path, 1, 1))]
    if node is None:
        return (
            None,
            smap,
            [Diagnostic("yaml.empty", "the mapping file is empty", span=SourceSpan(path, 1, 1))],
        )
    builder = _Builder(smap)
    try:
        data = builder.build(node, ())
    except _TooLarge as big:
        span = builder.span(big.node)
        msg = f"the mapping expands to more than {MAX_NODES} values (YAML aliases?)"
        return None, smap, [Diagnostic("yaml.alias-expansion", msg, span=span)]
    except RecursionError:
        return (
            None,
            smap,
            [
                Diagnostic(
                    "yaml.too-deep", "the mapping nests too deeply", span=SourceSpan(path, 1, 1)
                )
            ],
        )
    return data, smap, builder.diags


def _yaml_error(err: yaml.MarkedYAMLError, path: str) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = err.problem or "invalid YAML"
    hint = None
    if "\\t" in problem or "tab" in problem:
        hint = "YAML indentation must use spaces, not tabs"
    message = problem if not err.context else f"{problem} ({err.context})"
    return Diagnostic("yaml.syntax", message, span=SourceSpan(path, line, col), hint=hint)


def load_text(
    text: str, path: str = "<mapping>"
) -> tuple[MappingSpec | LibrarySpec | None, SourceMap, list[Diagnostic]]:
    """Parse and shape-check one mapping text (no includes). Never raises for bad input."""
    data, smap, diags = parse_yaml(text, path)
    if data is None and not diags:  # a document that is only `~` or `null`
        diags = [
            Diagnostic(
                "yaml.empty", "the mapping file holds only null", span=SourceSpan(path, 1, 1)
            )
        ]
    if data is None:
        return None, smap, diags
    if not isinstance(data, dict):
        span = smap.span(())
        diags.append(
            Diagnostic(
                "spec.not-a-mapping",
                "a mapping file must be a YAML map with `version: 1` and `objects:`",
                span=span,
            )
        )
        return None, smap, diags
    model: type[BaseModel] = (
        MappingSpec
        if any(key in data for key in ("objects", "users", "groups")) or "define" not in data
        else LibrarySpec
    )
    return _validate(model, data, smap, diags)


def _validate(
    model: type[BaseModel], data: dict[str, Any], smap: SourceMap, diags: list[Diagnostic]
) -> tuple[Any, SourceMap, list[Diagnostic]]:
    if "version" in data and data["version"] != 1:
        diags.append(
            Diagnostic(
                "spec.version",
                f"unsupported mapping version {data['version']!r}",
                loc=("version",),
                hint="this mapper reads `version: 1`",
            )
        )
        return None, smap, [smap.locate(d) for d in diags]
    spec, found = validate_shape(model, data, smap, prefix="spec")
    return spec, smap, [*(smap.locate(d) for d in diags), *found]


UNREADABLE = "spec.unreadable"  # a mapping file that cannot be read: an I/O problem (exit 4)


def read_mapping_file(path: Path) -> tuple[str | None, Diagnostic | None]:
    """Read a mapping file as UTF-8 text, or say why it cannot be read.

    The size limit counts the bytes actually read (never stat: /dev/zero or a FIFO says 0).
    """
    where = SourceSpan(str(path), 1, 1)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_MAPPING_BYTES + 1)
        reads = READS.get()
        if reads is not None:
            reads[str(path.resolve())] = raw
    except FileNotFoundError:
        return None, Diagnostic(UNREADABLE, "cannot read mapping: not found", span=where)
    except OSError as err:
        return None, Diagnostic(
            UNREADABLE, f"cannot read mapping: {err.strerror or err}", span=where
        )
    if len(raw) > MAX_MAPPING_BYTES:
        limit = MAX_MAPPING_BYTES // (1024 * 1024)
        return None, Diagnostic("yaml.too-large", f"mapping is larger than {limit} MiB", span=where)
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        return None, Diagnostic(
            "yaml.encoding", f"mapping is not UTF-8 text (byte {err.start})", span=where
        )


def load_mapping(
    path: str | Path, *, allow: tuple[Path, ...] = ()
) -> tuple[LoadedMapping | None, list[Diagnostic]]:
    """Load a mapping file and the files it includes; returns all diagnostics found.

    Includes must lie in the mapping's folder (or below it) or in one of the `allow` folders.
    """
    path = Path(path)
    text, problem = read_mapping_file(path)
    if problem:
        return None, [problem]
    assert text is not None
    return load_mapping_text(text, str(path), base=path.parent, allow=allow)


def load_mapping_text(
    text: str, path: str = "<mapping>", *, base: Path | None = None, allow: tuple[Path, ...] = ()
) -> tuple[LoadedMapping | None, list[Diagnostic]]:
    """Load a mapping from text; `base` is where relative includes are resolved, and with the
    `allow` folders the only tree they may come from."""
    spec, smap, diags = load_text(text, path)
    if spec is None or not isinstance(spec, MappingSpec):
        if spec is not None:
            diags.append(
                Diagnostic(
                    "spec.no-objects",
                    "this file only defines values; it has no `objects:` to produce",
                    span=smap.span(()),
                )
            )
        return None, diags
    defines: dict[str, tuple[Any, SourceMap, Loc]] = {}
    roots = tuple(p.resolve() for p in (base or Path(), *allow))
    include_diags = _collect_includes(
        spec.include, smap, base or Path(), defines, depth=0, seen=frozenset({path}), roots=roots
    )
    diags.extend(include_diags)
    diags.extend(_add_defines(spec.define, smap, defines))
    if any(d.is_error for d in diags):
        return None, diags
    return LoadedMapping(spec, smap, path, defines), diags


def _collect_includes(
    includes: list[str],
    smap: SourceMap,
    base: Path,
    defines: dict[str, tuple[Any, SourceMap, Loc]],
    *,
    depth: int,
    seen: frozenset[str],
    roots: tuple[Path, ...],
) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for i, rel in enumerate(includes):
        here = smap.span(("include", i))
        target = (base / rel).resolve()
        if not any(target.is_relative_to(root) for root in roots):
            diags.append(_outside(rel, roots[0], ("include", i), here))
            continue
        if depth >= MAX_INCLUDE_DEPTH or str(target) in seen:
            diags.append(
                Diagnostic(
                    "spec.include-cycle",
                    f"include of {rel!r} loops back",
                    loc=("include", i),
                    span=here,
                )
            )
            continue
        text, problem = read_mapping_file(target)
        if problem:
            diags.append(
                Diagnostic(
                    "spec.include-missing",
                    f"cannot include {rel!r}: {problem.message}",
                    loc=("include", i),
                    span=here,
                )
            )
            continue
        assert text is not None
        diags.extend(_include_one(text, rel, target, defines, depth=depth, seen=seen, roots=roots))
    return diags


def _outside(rel: str, root: Path, loc: Loc, span: SourceSpan | None) -> Diagnostic:
    return Diagnostic(
        "spec.include-outside",
        f"cannot include {rel!r}: it is outside the mapping's folder {root}",
        loc=loc,
        span=span,
        hint="includes stay in the mapping's folder tree; allow another with --allow-path DIR",
    )


_LIBRARY_KEYS = frozenset(LibrarySpec.model_fields)


def _include_one(
    text: str,
    rel: str,
    target: Path,
    defines: dict[str, tuple[Any, SourceMap, Loc]],
    *,
    depth: int,
    seen: frozenset[str],
    roots: tuple[Path, ...],
) -> list[Diagnostic]:
    data, lsmap, diags = parse_yaml(text, rel)
    if data is None or not isinstance(data, dict) or not (set(data) <= _LIBRARY_KEYS):
        # never echo what a file that is no library holds (it could be any file)
        return [d for d in diags if d.code.startswith("yaml.")] or [
            Diagnostic(
                "spec.not-a-library",
                "an included file must be a YAML map of `version: 1` and `define:` "
                "(this one is not; its content is not shown)",
                span=SourceSpan(rel, 1, 1),
            )
        ]
    lib, lsmap, diags = _validate(LibrarySpec, data, lsmap, diags)
    if lib is None:
        return diags
    diags.extend(
        _collect_includes(
            lib.include,
            lsmap,
            target.parent,
            defines,
            depth=depth + 1,
            seen=seen | {str(target)},
            roots=roots,
        )
    )
    diags.extend(_add_defines(lib.define, lsmap, defines))
    return diags


def _add_defines(
    new: dict[str, Any], smap: SourceMap, defines: dict[str, tuple[Any, SourceMap, Loc]]
) -> list[Diagnostic]:
    """Add a file's `define:` entries; a name defined twice is an error (the later one wins)."""
    diags = []
    for name, value in new.items():
        if name in defines:
            message = f"{name!r} is also defined in {defines[name][1].path}"
            diag = Diagnostic("spec.duplicate-define", message, loc=("define", name))
            diags.append(smap.locate(diag, prefer_key=True))
        defines[name] = (value, smap, ("define", name))
    return diags
