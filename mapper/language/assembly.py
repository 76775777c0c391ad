"""Language stage, load step: mapping text -> LoadedMapping (MappingSpec, SourceMap, defines).

The YAML is read by `loader.parse_yaml`, its shape checked against the spec models, and the
`include:` libraries and `define:` entries gathered, every problem located at file:line:col.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.language.loader import parse_yaml
from mapper.language.mapfiles import read_mapping_file
from mapper.language.shapes import validate_shape
from mapper.language.sourcemap import SourceMap
from mapper.language.spec import LibrarySpec, MappingSpec

MAX_INCLUDE_DEPTH = 10


@dataclass(frozen=True)
class LoadedMapping:
    """A validated mapping with its positions and the definitions it includes."""

    spec: MappingSpec
    smap: SourceMap
    path: str
    defines: dict[str, tuple[Any, SourceMap, Loc]]
    left_out: tuple[Diagnostic, ...] = ()
    """Unknown keys, left out so that the rest could be checked too: errors, so the mapping
    does not compile (`compile_mapping` reports them)."""
    includes: tuple[str, ...] = ()  # the files it includes, resolved (a run never writes them)


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
    if spec is None and found and all(d.code == UNKNOWN_KEY for d in found):
        stripped = _without(data, [d.loc for d in found])
        spec, _ = validate_shape(model, stripped, smap, prefix="spec")
    return spec, smap, [*(smap.locate(d) for d in diags), *found]


UNKNOWN_KEY = "spec.unknown-key"


def _without(data: dict[str, Any], locs: list[Loc]) -> dict[str, Any]:
    """A copy of `data` without the keys at `locs` (unknown keys: the rest is then checked as
    if they were not there, and every other problem of the file reported with them)."""
    data = copy.deepcopy(data)
    for loc in locs:
        node: Any = data
        for part in loc[:-1]:
            node = node[part]
        node.pop(loc[-1], None)
    return data


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
    left_out = [d for d in diags if d.code == UNKNOWN_KEY] if spec is not None else []
    diags = [d for d in diags if d.code != UNKNOWN_KEY or spec is None]
    if spec is None or not isinstance(spec, MappingSpec):
        if spec is not None:
            diags.append(
                Diagnostic(
                    "spec.no-objects",
                    "this file only defines values; it has no `objects:` to produce",
                    span=smap.span(()),
                )
            )
        return None, diags + left_out
    defines: dict[str, tuple[Any, SourceMap, Loc]] = {}
    included: list[str] = []
    roots = tuple(p.resolve() for p in (base or Path(), *allow))
    include_diags = _collect_includes(
        spec.include, smap, base or Path(), defines, depth=0, seen=frozenset({path}), roots=roots,
        included=included,
    )
    diags.extend(include_diags)
    diags.extend(_add_defines(spec.define, smap, defines))
    if any(d.is_error for d in diags):
        return None, diags + left_out
    loaded = LoadedMapping(spec, smap, path, defines, tuple(left_out), tuple(included))
    return loaded, diags


def _collect_includes(
    includes: list[str],
    smap: SourceMap,
    base: Path,
    defines: dict[str, tuple[Any, SourceMap, Loc]],
    *,
    depth: int,
    seen: frozenset[str],
    roots: tuple[Path, ...],
    included: list[str],
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
        included.append(str(target))
        diags.extend(_include_one(text, rel, target, defines, depth=depth, seen=seen, roots=roots,
                                  included=included))  # fmt: skip
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
    included: list[str],
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
            included=included,
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
