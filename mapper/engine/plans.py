"""Mapping files and texts into runnable plans: the language's compiler with the engine's fast
paths (one generated function per rule, `engine.fusion`)."""

from __future__ import annotations

from pathlib import Path

from mapper.engine.fusion import fast_paths
from mapper.errors import Diagnostic, SpecError
from mapper.language.compiler import compile_mapping
from mapper.language.loader import load_mapping, load_mapping_text
from mapper.language.plan import Plan


def compile_path(
    path: str | Path, *, allow: tuple[Path, ...] = ()
) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile a mapping file; returns the plan (None on errors) and all diagnostics.

    Includes may come from the mapping's folder tree and from the `allow` folders.
    """
    loaded, diags = load_mapping(path, allow=allow)
    if loaded is None:
        return None, diags
    plan, more = compile_mapping(loaded, fast_paths=fast_paths)
    return plan, diags + more


def compile_text(
    text: str, path: str = "<mapping>", *, base: Path | None = None
) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile mapping YAML given as text (includes resolve against `base`)."""
    loaded, diags = load_mapping_text(text, path, base=base)
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
