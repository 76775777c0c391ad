"""The run report: counts, problems and timing of one run, and the rule that stops a run.

Its counts prove that nothing was lost, at two levels: records in = mapped + partly mapped +
rejected + filtered, and items (object candidates) in = objects out + items rejected (held-back
ones included) + items filtered. Serial and
parallel runs build it the same way (`merge` adds a part's report, `should_stop` decides).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mapper.errors import Diagnostic, RecordError, render
from mapper.records import BadRecord, Item, RecordResult
from mapper.run.policy import ErrorPolicy, RunOptions, max_errors_reason

MAX_EXAMPLES = 3


@dataclass
class RunReport:
    """Counts, problems and timing of one run."""

    mapping: str
    inputs: list[str] = field(default_factory=list)
    records_in: int = 0
    records_mapped: int = 0
    records_rejected: int = 0
    records_filtered: int = 0
    records_partial: int = 0
    items_in: int = 0
    items_rejected: int = 0
    items_held_back: int = 0
    items_filtered: int = 0
    objects_out: int = 0
    objects_by_type: Counter[str] = field(default_factory=Counter)
    filtered_by_rule: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    input_problems: list[Diagnostic] = field(default_factory=list)
    lookup_files: dict[str, list[str]] = field(default_factory=dict)
    """The file(s) each `lookups:` table was read from (none: not found)."""
    duration_s: float = 0.0
    stopped_early: str | None = None
    completed: bool = False
    rejected_by_rule: Counter[str] = field(default_factory=Counter)
    first_filtered: dict[str, str] = field(default_factory=dict)
    """Per rule, the first item it filtered (where it is, and the item, shortened)."""
    first_rejected: dict[str, str] = field(default_factory=dict)
    """Per rule, the first item it rejected (where, why, and the item, shortened)."""
    wrapper: tuple[str, int] | None = None
    """The field and length of the list a rejected or filtered record wraps, if it looks so."""
    selector: str | None = None
    """The records selector given for the run (`--records`; the mapping's `records:` is in the
    plan), so that its warnings do not tell to give one."""

    @property
    def records_with_errors(self) -> int:
        """Records with at least one rejected candidate (what --max-errors counts)."""
        return self.records_rejected + self.records_partial

    @property
    def records_balanced(self) -> bool:
        """records in = mapped + partly mapped + rejected + filtered."""
        return self.records_in == (
            self.records_mapped
            + self.records_partial
            + self.records_rejected
            + self.records_filtered
        )

    @property
    def items_balanced(self) -> bool:
        """items in = objects out + items rejected + items filtered."""
        return self.items_in == self.objects_out + self.items_rejected + self.items_filtered

    @property
    def is_balanced(self) -> bool:
        """Both levels balance: no record and no object candidate was lost."""
        return self.records_balanced and self.items_balanced

    def note(self, diag: Diagnostic) -> None:
        """Count a diagnostic and keep a few rendered examples per code."""
        (self.problems if diag.is_error else self.warnings)[diag.code] += 1
        examples = self.examples.setdefault(diag.code, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(render(diag))

    def to_dict(self) -> dict[str, Any]:
        """The JSON run report."""
        return {
            "mapping": self.mapping,
            "inputs": self.inputs,
            "completed": self.completed,
            "stoppedEarly": self.stopped_early,
            "records": {
                "in": self.records_in,
                "mapped": self.records_mapped,
                "partlyMapped": self.records_partial,
                "rejected": self.records_rejected,
                "filtered": self.records_filtered,
                "balanced": self.records_balanced,
            },
            "items": {
                "in": self.items_in,
                "objects": self.objects_out,
                "rejected": self.items_rejected,
                "heldBack": self.items_held_back,
                "filtered": self.items_filtered,
                "balanced": self.items_balanced,
            },
            "balanced": self.is_balanced,
            "objects": {
                "out": self.objects_out,
                "byType": dict(sorted(self.objects_by_type.items())),
            },
            "filteredByRule": dict(self.filtered_by_rule),
            "rejectedByRule": dict(self.rejected_by_rule),
            "problems": [
                {"code": c, "count": n, "examples": self.examples.get(c, [])}
                for c, n in self.problems.most_common()
            ],
            "warnings": [
                {"code": c, "count": n, "examples": self.examples.get(c, [])}
                for c, n in self.warnings.most_common()
            ],
            "inputProblems": [d.to_dict() for d in self.input_problems],
            **({"lookupFiles": self.lookup_files} if self.lookup_files else {}),
            "durationSeconds": round(self.duration_s, 3),
        }

    def merge(self, part: RunReport) -> None:
        """Add the counts and problems of a part of the run (parallel workers, a replay)."""
        self.records_in += part.records_in
        self.records_mapped += part.records_mapped
        self.records_rejected += part.records_rejected
        self.records_filtered += part.records_filtered
        self.records_partial += part.records_partial
        self.items_in += part.items_in
        self.items_rejected += part.items_rejected
        self.items_held_back += part.items_held_back
        self.items_filtered += part.items_filtered
        self.objects_out += part.objects_out
        self.objects_by_type.update(part.objects_by_type)
        self.filtered_by_rule.update(part.filtered_by_rule)
        self.problems.update(part.problems)
        self.warnings.update(part.warnings)
        for code, examples in part.examples.items():
            kept = self.examples.setdefault(code, [])
            kept.extend(examples[: MAX_EXAMPLES - len(kept)])
        self.input_problems.extend(part.input_problems)
        self.rejected_by_rule.update(part.rejected_by_rule)
        for rule, text in part.first_filtered.items():
            self.first_filtered.setdefault(rule, text)
        for rule, text in part.first_rejected.items():
            self.first_rejected.setdefault(rule, text)
        self.wrapper = self.wrapper or part.wrapper

    def should_stop(self, result: RecordResult | None, item: Item, options: RunOptions) -> bool:
        """After counting one record: must the run stop here?

        Raises:
            RecordError: under ErrorPolicy.FAIL_FAST, when the record was rejected.
        """
        if result is not None and not result.diagnostics and options.limit is None:
            return False  # the usual case: a clean record
        rejected = result is None or bool(result.rejected) or result.outcome == "rejected"
        if rejected and options.policy is ErrorPolicy.FAIL_FAST:
            self.stopped_early = "fail-fast: a record was rejected"
            bad = [item.diagnostic] if isinstance(item, BadRecord) else []
            diags = result.errors if result else bad
            raise RecordError(diags or [Diagnostic("record.rejected", "a record was rejected")])
        if _over_limit(self.records_with_errors, options):
            self.stopped_early = max_errors_reason(options.max_rejects)
            return True
        if options.limit is not None and self.records_in >= options.limit:
            self.stopped_early = f"stopped after {options.limit} records (limit)"
            return True
        return False

    def would_stop_within(self, part: RunReport, options: RunOptions) -> bool:
        """Would a run that has counted this report stop inside `part` (counted apart)?"""
        if not part.records_with_errors:
            return False
        if options.policy is ErrorPolicy.FAIL_FAST:
            return True
        return _over_limit(self.records_with_errors + part.records_with_errors, options)


def _over_limit(rejected: int, options: RunOptions) -> bool:
    """More records with a rejected candidate than `--max-errors` tolerates: the one rule both
    paths use."""
    return options.max_rejects is not None and rejected > options.max_rejects


def unique_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics without repeats, in order: each worker reports a missing lookup table
    once, and the run reports it once (parallel and distributed runs alike)."""
    seen: set[str] = set()
    out = []
    for diag in diagnostics:
        key = repr(diag.to_dict())
        if key not in seen:
            seen.add(key)
            out.append(diag)
    return out
