"""What a sync run did: per object type (and for users and groups) created / updated / unchanged /
held back / deleted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mapper.errors import Diagnostic, render

MAX_EXAMPLES = 3
IDENTITY_BATCHES = ("setUsers", "setGroups", "deleteUsers", "deleteGroups")


@dataclass
class TypeCounts:
    """One object type's outcomes in a sync run."""

    created: int = 0  # ids the state did not know (or had deleted), emitted
    updated: int = 0  # known ids whose content changed, emitted
    unchanged: int = 0  # known ids with the same content hash, not emitted
    held_back: int = 0  # known ids that changed but are not emitted (append mode)
    deleted: int = 0  # ids in a deleteObjectsByExternalId batch
    reordered: int = 0  # emitted after the container they reference (in a later batch)
    carried: int = 0  # unchanged containers sent again with a changed commit / pull request

    def to_dict(self) -> dict[str, int]:
        """JSON form (camelCase keys)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "heldBack": self.held_back,
            "deleted": self.deleted,
            "reordered": self.reordered,
            "carried": self.carried,
        }


@dataclass
class SyncReport:
    """Counts and findings of one sync run (the mapping run's report rides along)."""

    mode: str
    run: int
    state: str
    connection_id: str
    by_type: dict[str, TypeCounts] = field(default_factory=dict)
    findings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    partial_reasons: list[str] = field(default_factory=list)
    unseen: int = 0  # known ids this run did not see
    deletes_withheld: int = 0  # ids not seen by a partial mirror run, not deleted
    deletes_kept: int = 0  # ids not seen, not deleted: another job of the batch holds them
    set_batches: int = 0
    delete_batches: int = 0
    identity_batches: dict[str, int] = field(default_factory=dict)
    """Bodies per identity operation (setUsers, setGroups, deleteUsers, deleteGroups)."""
    cursor_before: str = ""
    cursor_after: str = ""
    upgraded_from: int | None = None  # the state's schema version before this run upgraded it
    since: str | None = None  # the `since` parameter the mapping got (None: it declares none)
    records_known: int = 0  # input lines not mapped: the state holds their objects unchanged
    dry_run: bool = False  # the state was left as it was (`--dry-run`)
    errors: list[Diagnostic] = field(default_factory=list)  # what makes a --strict run fail
    notes: list[str] = field(default_factory=list)
    """What the mapping run said about the request (`--workers` capped, an input given twice);
    shown with the summary, not written to report.json."""

    def counts(self, type_name: str) -> TypeCounts:
        """The counts of one type (created on first use)."""
        found = self.by_type.get(type_name)
        if found is None:
            found = self.by_type[type_name] = TypeCounts()
        return found

    def note(self, diag: Diagnostic) -> None:
        """Count a finding (a `sync.*` warning) and keep a few rendered examples."""
        self.findings[diag.code] += 1
        examples = self.examples.setdefault(diag.code, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(render(diag))

    @property
    def is_full(self) -> bool:
        """True when the run saw the whole source (deletes may be derived from it)."""
        return not self.partial_reasons

    @property
    def emitted(self) -> int:
        """Objects, users and groups written to set bodies."""
        return sum(c.created + c.updated for c in self.by_type.values())

    @property
    def deleted(self) -> int:
        """Ids written to delete batches."""
        return sum(c.deleted for c in self.by_type.values())

    @property
    def batches(self) -> int:
        """Request bodies written, of every operation."""
        return self.set_batches + self.delete_batches + sum(self.identity_batches.values())

    def totals(self) -> TypeCounts:
        """The counts summed over all types."""
        total = TypeCounts()
        for counts in self.by_type.values():
            for name in total.__dataclass_fields__:
                setattr(total, name, getattr(total, name) + getattr(counts, name))
        return total

    def to_dict(self) -> dict[str, Any]:
        """The `sync` section of the JSON report."""
        return {
            "mode": self.mode,
            "run": self.run,
            "state": self.state,
            "connectionId": self.connection_id,
            "full": self.is_full,
            "partialReasons": self.partial_reasons,
            "byType": {t: c.to_dict() for t, c in sorted(self.by_type.items())},
            "total": self.totals().to_dict(),
            "unseen": self.unseen,
            "deletesWithheld": self.deletes_withheld,
            "deletesKept": self.deletes_kept,
            "batches": {
                "setObjects": self.set_batches,
                "deleteObjects": self.delete_batches,
                **{name: self.identity_batches.get(name, 0) for name in IDENTITY_BATCHES},
            },
            "cursor": {"before": self.cursor_before, "after": self.cursor_after},
            "since": self.since,
            "recordsKnown": self.records_known,
            "dryRun": self.dry_run,
            "upgradedFrom": self.upgraded_from,
            "findings": [
                {"code": c, "count": n, "examples": self.examples.get(c, [])}
                for c, n in self.findings.most_common()
            ],
            "errors": [d.to_dict() for d in self.errors],
        }
