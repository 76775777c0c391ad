"""Mapping files and texts into runnable plans: the language's compiler with the engine's fast
paths (one generated function per rule, `engine.fusion`), optionally through a cache of
compiled plans (`engine.cache`).

The loader and compiler are imported when something is compiled: a plan taken from the cache
never loads them (nor YAML, nor the mapping-file models).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from mapper.errors import Diagnostic, SpecError
from mapper.language.plan import Plan

if TYPE_CHECKING:
    from mapper.engine.cache import PlanStore
    from mapper.language.assembly import LoadedMapping


def compile_path(
    path: str | Path, *, allow: tuple[Path, ...] = (), cache: PlanStore | None = None
) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile a mapping file; returns the plan (None on errors) and all diagnostics.

    Includes may come from the mapping's folder tree and from the `allow` folders. With a
    `cache`, a plan kept for the same mapping (same bytes, includes, mapper and Python) is
    taken from it instead, and a plan compiled here is kept in it.
    """
    if cache is None:
        return _compile_path(path, allow)
    from mapper.engine.cache import freeze, thaw

    folders = tuple(str(folder) for folder in allow)
    frozen = cache.lookup(str(path), folders)
    if frozen is not None:
        try:
            return thaw(frozen)
        except Exception:  # a stale or foreign entry: compile instead (and replace it)
            pass
    with cache.recording():
        plan, diags = _compile_path(path, allow)
    if plan is not None:
        try:
            kept = freeze(plan, diags)
        except pickle.PicklingError:
            return plan, diags  # this plan holds something that cannot be kept: not cached
        cache.store(str(path), folders, kept)
    return plan, diags


def _compile_path(
    path: str | Path, allow: tuple[Path, ...]
) -> tuple[Plan | None, list[Diagnostic]]:
    from mapper.language.assembly import load_mapping

    return _compiled(*load_mapping(path, allow=allow))


def compile_text(
    text: str, path: str = "<mapping>", *, base: Path | None = None
) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile mapping YAML given as text (includes resolve against `base`)."""
    from mapper.language.assembly import load_mapping_text

    return _compiled(*load_mapping_text(text, path, base=base))


def _compiled(
    loaded: LoadedMapping | None, diags: list[Diagnostic]
) -> tuple[Plan | None, list[Diagnostic]]:
    """The plan of a loaded mapping with the engine's fast paths (None when it did not load)."""
    from mapper.engine.fusion import fast_paths
    from mapper.language.compiler import compile_mapping

    if loaded is None:
        return None, diags
    plan, more = compile_mapping(loaded, fast_paths=fast_paths)
    return plan, diags + more


def load(path: str | Path) -> Plan:
    """Load and compile a mapping file.

    Raises:
        SpecError: carrying every diagnostic, when the mapping has errors.
    """
    plan, diags = compile_path(path)
    if plan is None:
        raise SpecError([d for d in diags if d.is_error])
    return plan
