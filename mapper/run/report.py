"""The run report: counts, problems and timing of one run, and the rule that stops a run.

Its counts prove that nothing was lost: records in = mapped + rejected + filtered. Serial and
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

    @property
    def is_balanced(self) -> bool:
        """records in = mapped + rejected + filtered."""
        return (
            self.records_in == self.records_mapped + self.records_rejected + self.records_filtered
        )

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
                "rejected": self.records_rejected,
                "filtered": self.records_filtered,
                "balanced": self.is_balanced,
            },
            "objects": {
                "out": self.objects_out,
                "byType": dict(sorted(self.objects_by_type.items())),
            },
            "filteredByRule": dict(self.filtered_by_rule),
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
        self.objects_out += part.objects_out
        self.objects_by_type.update(part.objects_by_type)
        self.filtered_by_rule.update(part.filtered_by_rule)
        self.problems.update(part.problems)
        self.warnings.update(part.warnings)
        for code, examples in part.examples.items():
            kept = self.examples.setdefault(code, [])
            kept.extend(examples[: MAX_EXAMPLES - len(kept)])
        self.input_problems.extend(part.input_problems)

    def should_stop(self, result: RecordResult | None, item: Item, options: RunOptions) -> bool:
        """After counting one record: must the run stop here?

        Raises:
            RecordError: under ErrorPolicy.FAIL_FAST, when the record was rejected.
        """
        if result is not None and not result.diagnostics and options.limit is None:
            return False  # the usual case: a clean record
        rejected = result is None or result.outcome == "rejected"
        if rejected and options.policy is ErrorPolicy.FAIL_FAST:
            self.stopped_early = "fail-fast: a record was rejected"
            bad = [item.diagnostic] if isinstance(item, BadRecord) else []
            diags = result.errors if result else bad
            raise RecordError(diags or [Diagnostic("record.rejected", "a record was rejected")])
        if _over_limit(self.records_rejected, options):
            self.stopped_early = max_errors_reason(options.max_rejects)
            return True
        if options.limit is not None and self.records_in >= options.limit:
            self.stopped_early = f"stopped after {options.limit} records (limit)"
            return True
        return False

    def would_stop_within(self, part: RunReport, options: RunOptions) -> bool:
        """Would a run that has counted this report stop inside `part` (counted apart)?"""
        if not part.records_rejected:
            return False
        if options.policy is ErrorPolicy.FAIL_FAST:
            return True
        return _over_limit(self.records_rejected + part.records_rejected, options)


def _over_limit(rejected: int, options: RunOptions) -> bool:
    """More rejected records than `--max-errors` tolerates: the one rule both paths use."""
    return options.max_rejects is not None and rejected > options.max_rejects
