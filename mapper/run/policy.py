"""How a run treats rejected records: the error policy and the options that bound a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class ErrorPolicy(Enum):
    """What a run does with a record that has errors."""

    SKIP_RECORD = "skip"  # quarantine it and carry on
    FAIL_FAST = "fail-fast"  # stop at the first one


@dataclass(frozen=True)
class RunOptions:
    """How a run treats errors and where it finds lookups."""

    policy: ErrorPolicy = ErrorPolicy.SKIP_RECORD
    max_rejects: int | None = None
    lookups: Mapping[str, str] = field(default_factory=dict)
    limit: int | None = None  # stop after this many records (preview)


def max_errors_reason(limit: int | None) -> str:
    """Why a run stopped early under `--max-errors`."""
    return f"more than {limit} records rejected (--max-errors)"
