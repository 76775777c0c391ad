"""Connector files: YAML -> `LoadedConnector` (spec, positions, compiled mappings), all located.

Reading and positions come from the mapping loader and the shape is `ConnectorSpec`, so
problems render as `file:line:col: loc: code` like those of mapping and jobs files. Each
mapping the connector lists is loaded and compiled; its own problems keep their own locations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mapper.connector.spec import CAPABILITY_KEYS, ConnectorSpec, MappingRef
from mapper.errors import Diagnostic, SourceSpan, suggest
from mapper.language.compiler import compile_mapping
from mapper.language.loader import SourceMap, load_mapping, parse_yaml, read_mapping_file
from mapper.language.plan import Plan
from mapper.language.shapes import validate_shape

CONNECTOR_NAMES = ("connector.yaml", "connector.yml")
_KINDS = {"literal_error": "invalid-value", "string_pattern_mismatch": "invalid-value"}


@dataclass(frozen=True, slots=True)
class ConnectorMapping:
    """One `mappings:` entry: where it is, how it feeds, and its plan (None if it is invalid)."""

    index: int
    ref: MappingRef
    path: Path
    plan: Plan | None


@dataclass(frozen=True)
class LoadedConnector:
    """A connector file that has the right shape, with its positions and compiled mappings."""

    spec: ConnectorSpec
    smap: SourceMap
    path: Path
    mappings: tuple[ConnectorMapping, ...]

    @property
    def plans(self) -> tuple[tuple[ConnectorMapping, Plan], ...]:
        """The mappings that compiled, with their plans."""
        return tuple((m, m.plan) for m in self.mappings if m.plan is not None)


def is_connector_file(path: Path) -> bool:
    """True for `connector.yaml` (or `.yml`) and `NAME.connector.yaml`."""
    return path.name in CONNECTOR_NAMES or path.name.endswith(".connector.yaml")


def load_connector(path: Path) -> tuple[LoadedConnector | None, list[Diagnostic]]:
    """Read, shape-check and resolve a connector file; never raises for bad input.

    Returns:
        The connector (None when its shape is wrong) and every problem found, including those
        of the mappings it lists.
    """
    text, problem = read_mapping_file(path)
    if problem is not None:
        return None, [replace(problem, code=problem.code.replace("spec.", "connector.", 1))]
    data, smap, diags = parse_yaml(text or "", str(path))
    if data is None:
        empty = Diagnostic("connector.empty", "the connector file is empty", span=_top(path))
        return None, [d for d in diags if d.code != "yaml.empty"] or [empty]
    spec, found = validate_shape(ConnectorSpec, data, smap, prefix="connector", kinds=_KINDS)
    diags += [_capability_key(d) for d in found]
    if spec is None:
        return None, diags
    mappings = tuple(_compile(path.parent, i, ref, smap, diags) for i, ref in
                     enumerate(spec.mapping_refs()))
    return LoadedConnector(spec, smap, path, mappings), diags


def _top(path: Path) -> SourceSpan:
    return SourceSpan(str(path), 1, 1)


def _capability_key(diag: Diagnostic) -> Diagnostic:
    """An unknown key under `capabilities:` gets its own code: Atlassian accepts only three."""
    if diag.code != "connector.unknown-key" or diag.loc[:1] != ("capabilities",):
        return diag
    key = str(diag.loc[-1])
    hint = suggest(key, CAPABILITY_KEYS) or f"accepted: {', '.join(CAPABILITY_KEYS)}"
    message = f"{key!r} is not a capability Atlassian accepts (only the three listed are)"
    return replace(diag, code="connector.unknown-capability", message=message, hint=hint)


def _compile(
    base: Path, index: int, ref: MappingRef, smap: SourceMap, diags: list[Diagnostic]
) -> ConnectorMapping:
    path = base / ref.file
    loc = ("mappings", index)
    if not path.is_file():
        message = f"mapping {ref.file!r} does not exist"
        diags.append(smap.locate(Diagnostic("connector.missing-mapping", message, loc=loc)))
        return ConnectorMapping(index, ref, path, None)
    loaded, found = load_mapping(path)
    plan = None
    if loaded is not None:
        plan, more = compile_mapping(loaded)
        found += more
    errors = [d for d in found if d.is_error]
    diags.extend(errors)
    if plan is None:
        message = f"mapping {ref.file!r} has errors (reported in it)"
        diags.append(smap.locate(Diagnostic("connector.invalid-mapping", message, loc=loc)))
    return ConnectorMapping(index, ref, path, plan)

