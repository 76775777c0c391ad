"""Language stage, load step: YAML text -> (plain data, SourceMap), every problem located.

Only this module imports `yaml`. Loading is safe by construction: nodes are composed with
PyYAML's SafeLoader and turned into Python values here, so unknown tags (`!!python/object`...)
are errors, aliases are counted against an expansion limit and duplicate keys are reported.
The steps after it: `assembly` (data -> MappingSpec with includes and definitions), with
`mapfiles` (reading the files) and `sourcemap` (the positions).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.language.mapfiles import MAX_MAPPING_BYTES
from mapper.language.mapfiles import READS as READS  # re-exported: mapper/io reads it here
from mapper.language.mapfiles import (
    read_mapping_file as read_mapping_file,  # re-exported: mapper/run/jobs.py reads it here
)
from mapper.language.sourcemap import (
    SourceMap as SourceMap,  # re-exported: mapper/run reads it here
)

MAX_NODES = 200_000
MAX_DEPTH = 100
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
