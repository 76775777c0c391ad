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
from mapper.language.compiler import compile_mapping_file
from mapper.language.loader import parse_yaml
from mapper.language.mapfiles import READS, read_mapping_file
from mapper.language.plan import Plan
from mapper.language.shapes import validate_shape
from mapper.language.sourcemap import SourceMap

CONNECTOR_NAMES = ("connector.yaml", "connector.yml")
_KINDS = {"literal_error": "invalid-value", "string_pattern_mismatch": "invalid-value"}


@dataclass(frozen=True, slots=True)
class ConnectorMapping:
    """One `mappings:` entry: where it is, how it feeds, and its plan (None if it is invalid)."""

    index: int
    ref: MappingRef
    path: Path
    plan: Plan | None


@dataclass(frozen=True, slots=True)
class IdentityFile:
    """One `users:` / `groups:` entry: the file and its plan (None if missing or invalid)."""

    key: str  # users | groups
    index: int
    name: str
    plan: Plan | None


@dataclass(frozen=True)
class LoadedConnector:
    """A connector file that has the right shape, with its positions and compiled mappings."""

    spec: ConnectorSpec
    smap: SourceMap
    path: Path
    mappings: tuple[ConnectorMapping, ...]
    identity: tuple[IdentityFile, ...] = ()  # the `users:` and `groups:` files, compiled
    files: tuple[str, ...] = ()  # every file read (resolved): it, its mappings, their includes

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
    reads: dict[str, bytes] = {}
    token = READS.set(reads)
    try:
        connector, diags = _load(path)
    finally:
        READS.reset(token)
    if connector is None:
        return None, diags
    return replace(connector, files=tuple(reads)), diags


def _load(path: Path) -> tuple[LoadedConnector | None, list[Diagnostic]]:
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
    mappings = tuple(
        ConnectorMapping(i, ref, path.parent / ref.file,
                         _compile(path.parent, ref.file, ("mappings", i), smap, diags))
        for i, ref in enumerate(spec.mapping_refs())
    )  # fmt: skip
    identity = tuple(
        IdentityFile(key, i, name, _compile(path.parent, name, (key, i), smap, diags))
        for key in ("users", "groups") for i, name in enumerate(getattr(spec, key))
    )  # fmt: skip
    return LoadedConnector(spec, smap, path, mappings, identity), diags


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
    base: Path, name: str, loc: tuple[str | int, ...], smap: SourceMap, diags: list[Diagnostic]
) -> Plan | None:
    """Load and compile one file the connector lists; its errors keep their own locations."""
    path = base / name
    if not path.is_file():
        if loc[0] == "mappings":
            missing = Diagnostic("connector.missing-mapping", f"mapping {name!r} does not exist",
                                 loc=loc)
        else:
            missing = Diagnostic("connector.missing-file", f"{loc[0]} rules {name!r} do not exist",
                                 loc=loc)
        diags.append(smap.locate(missing))
        return None
    plan, errors = compile_mapping_file(path)
    diags.extend(errors)
    if plan is None:
        what = "mapping" if loc[0] == "mappings" else f"{loc[0]} rules"
        message = f"{what} {name!r} has errors (reported in it)"
        diags.append(smap.locate(Diagnostic("connector.invalid-mapping", message, loc=loc)))
    return plan
