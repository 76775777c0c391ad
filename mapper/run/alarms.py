"""Nothing silent: warnings for runs that filter or reject most of their records.

A run that filters or rejects all, or more than half, of its records (or rejects more than half
of its items) is almost always
reading the wrong thing (a wrapper document, a misspelt `where:`, a field that moved). `alarms`
words what the report counted: the rule, its condition, and one example item.
"""

from __future__ import annotations

import json

from mapper.language.plan import Plan
from mapper.run.report import RunReport

THRESHOLD = 0.5
"""Share of records (or of items) filtered or rejected above which a run warns."""


def _share(part: int, whole: int, what: str) -> str:
    if part == whole:
        return f"all {whole} {what}"
    return f"{part} of {whole} {what} ({100 * part // whole} %)"


def alarms(report: RunReport, plan: Plan) -> list[str]:
    """The warnings a run, preview or test prints on stderr (empty for a normal run)."""
    out: list[str] = []
    records, items = report.records_in, report.items_in or report.records_in
    if not records:
        return out
    out += _filtered(report, plan, records)
    out += _rejected(report, records, items)
    wrapper = report.wrapper
    if report.records_rejected + report.records_filtered == records and wrapper:
        selector = report.selector or (plan.records.text if plan.records is not None else None)
        out += [wrapper_words(*wrapper, selector)] if _unread(wrapper[0], plan) else []
    return out


def _unread(key: str, plan: Plan) -> bool:
    """No rule's `each:` reads the list at `key` (else the record is no wrapper to unwrap)."""
    return not any(r.each and r.each.base_path == (key,) for r in plan.rules)


def wrapper_words(key: str, size: int, selector: str | None = None) -> str:
    """The hint for a record that wraps `size` records in its field `key`; under a records
    `selector` (already given: not to be suggested again), how to make it reach them."""
    name = key if key.isidentifier() else json.dumps(key)
    if selector is not None:
        further = f"{name}[]" if selector.strip() == "@" else f"{selector.strip()}.{name}[]"
        return (
            f"the records that the records selector {selector!r} picks look like wrappers "
            f"around a list of {size} records in {key!r}: make the selector reach into them, "
            f"e.g. {further!r}"
        )
    return (
        f"the record looks like a wrapper around a list of {size} records in "
        f"{key!r}: read them with --records '{name}[]' (or `records: {name}[]` in the mapping)"
    )


def _filtered(report: RunReport, plan: Plan, records: int) -> list[str]:
    # records only: rules that pick one kind each (`where: type == 'page'`) filter most items
    if not report.filtered_by_rule or report.records_filtered / records <= THRESHOLD:
        return []
    rule, count = report.filtered_by_rule.most_common(1)[0]
    where = next((r.where.text for r in plan.rules if r.name == rule and r.where), None)
    what = _share(report.records_filtered, records, "records were filtered")
    example = report.first_filtered.get(rule)
    return [
        f"{what}: rule {rule!r} filtered {count} item(s) (where: {where})"
        + (f"; for example {example}" if example else "")
    ]


def _unreadable(report: RunReport) -> str:
    """Why records that no rule saw were rejected: not JSON, or (JSONL lines under a records
    selector) the selector found nothing in them."""
    problems = report.problems
    selected = problems["input.no-records"] + problems["input.selector-failed"]
    if selected > problems["record.malformed-json"]:
        return (
            "the records selector found no records in them (each JSONL line is a document "
            "the selector applies to; if each line is one record, give --records @)"
        )
    return "they could not be read as JSON"


def _rejected(report: RunReport, records: int, items: int) -> list[str]:
    by_records = report.records_rejected / records > THRESHOLD
    by_items = report.items_rejected / items > THRESHOLD
    if not report.items_rejected or not (by_records or by_items):
        return []
    what = (
        _share(report.records_rejected, records, "records were rejected")
        if by_records
        else _share(report.items_rejected, items, "items were rejected")
    )
    if not report.rejected_by_rule:  # records that could not be read
        return [f"{what}: {_unreadable(report)}"]
    rule, count = report.rejected_by_rule.most_common(1)[0]
    example = report.first_rejected.get(rule)
    verb = "rejected or held back" if report.items_held_back else "rejected"  # (together: true)
    return [
        f"{what}: rule {rule!r} {verb} {count} item(s)"
        + (f"; first: {example}" if example else "")
    ]
