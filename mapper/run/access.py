"""Principal checks over a run's outputs: every USER / GROUP principal an object grants must be
the externalId of a user or group the run (or an earlier one) sent.

The checks read the outputs back once the run has written them, so serial and parallel runs,
JSONL and batches are checked alike. Rule locations come from the plans: each finding points at
the `permissions` field of the rule that makes that object type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mapper.errors import Loc, SourceSpan

if TYPE_CHECKING:  # the checks are imported when a run makes them (not on every run's start)
    from mapper.access.checks import AccessFindings, KnownIdentities, RuleLocations
    from mapper.language.plan import Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessRequest:
    """How a run's principals are checked."""

    check: bool = False
    """Check even when no mapping has `users:` / `groups:` rules (`--check-access`)."""
    strict: bool = False
    """Unknown USER / GROUP principals are errors (the run exits 3), not warnings."""
    replicates_permissions: bool = False
    """Report objects granted only to EVERYONE / ATLASSIAN_WORKSPACE."""
    known: KnownIdentities | None = None
    """Users and groups sent by earlier runs (a sync state store), counted as sent."""
    changes_only: bool = False
    """The outputs hold what changed only (sync runs): unreferenced users and missing
    containers are not reported (an unchanged object, not sent again, may grant or hold them)."""
    enabled: bool = True
    """False: no check (`mapper batch` checks its jobs together, not one by one)."""


def wants_check(plans: Iterable[Plan], request: AccessRequest) -> bool:
    """Check when asked, when a mapping makes users or groups, or replicates permissions."""
    plans = list(plans)
    return request.enabled and (
        request.check
        or request.replicates_permissions
        or any(p.identity_kinds or p.replicates_permissions for p in plans)
    )


def rule_locations(plans: Iterable[Plan]) -> RuleLocations:
    """Object type -> where the first rule making it writes `permissions`."""
    found: dict[str, tuple[Loc, SourceSpan | None]] = {}
    for plan in plans:
        for rule in plan.rules:
            node = rule.fields.child("permissions")
            if node is not None and rule.type_name not in found:
                found[rule.type_name] = (node.loc, node.span)
    return found


def check_access(
    plans: Iterable[Plan], outputs: Iterable[str], request: AccessRequest
) -> AccessFindings:
    """Check the principals of the objects in `outputs` against the users and groups there.

    Raises:
        OutputError: an output cannot be read back.
    """
    from mapper.access.checks import PrincipalChecker
    from mapper.access.outputs import iter_entries

    plans = list(plans)
    checker = PrincipalChecker(
        known=request.known,
        changes_only=request.changes_only,
        strict=request.strict,
        replicates_permissions=request.replicates_permissions
        or any(p.replicates_permissions for p in plans),
        locations=rule_locations(plans),
    )
    checker.add_all(iter_entries(outputs))
    return checker.finish()


def check_jobs(
    jobs: Iterable[tuple[str, str]], request: AccessRequest
) -> AccessFindings | None:
    """Check the outputs of several jobs together, as one run: (mapping, output) pairs.

    None when no mapping asks for it (see `wants_check`) or no output was written.

    Raises:
        OutputError: an output cannot be read back.
    """
    from pathlib import Path

    from mapper.engine.plans import compile_path

    pairs = [(m, o) for m, o in jobs if Path(o).exists()]
    plans = [p for p in (compile_path(m)[0] for m, _ in pairs) if p is not None]
    if not pairs or not wants_check(plans, request):
        return None
    return check_access(plans, [o for _, o in pairs], request)
