"""`/metrics` in the Prometheus text format (0.0.4): counters, one histogram, gauges.

Hand-rolled because it is tiny: deliveries by route and outcome, verification failures by
route and reason, the inbox depth, and the time from receipt to a delivery's outcome.
Thread-safe: the server's event loop and the worker thread both record.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping

Labels = tuple[tuple[str, str], ...]
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_HELP = {
    "mapper_serve_deliveries_total": ("counter", "Deliveries by route and outcome."),
    "mapper_serve_verification_failures_total": (
        "counter", "Deliveries refused by verification, by route and reason.",
    ),
    "mapper_serve_inbox_depth": ("gauge", "Deliveries stored but not yet processed."),
    "mapper_serve_inbox_deliveries": (
        "gauge", "Deliveries kept in the inbox by status (also those a worker process settled).",
    ),
    "mapper_serve_in_flight": ("gauge", "Requests of a route holding a concurrency slot."),
    "mapper_serve_mapping_seconds": (
        "histogram", "Seconds from receipt to the delivery's outcome (mapped, rejected, filtered).",
    ),
}  # fmt: skip


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """The server's counters and histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._hist: dict[Labels, list[float]] = {}  # bucket counts, then sum, then count

    def inc(self, name: str, **labels: str) -> None:
        self.add(name, 1, **labels)

    def add(self, name: str, delta: float, **labels: str) -> None:
        """Add `delta` (negative for a gauge going down) to one series."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0) + delta

    def observe(self, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            row = self._hist.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def delivered(self, route: str, outcome: str, seconds: float | None = None) -> None:
        """One delivery reached `outcome` (accepted, duplicate, mapped, ... refused)."""
        self.inc("mapper_serve_deliveries_total", route=route, outcome=outcome)
        if seconds is not None:
            self.observe(seconds, route=route)

    def render(self, depth: int, kept: Mapping[str, int] | None = None) -> str:
        """The exposition text; `kept`: the inbox's deliveries by status."""
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                self._head(lines, name)
                for key, value in sorted(series.items()):
                    lines.append(f"{name}{_labels(key)} {value:g}")
            self._head(lines, "mapper_serve_inbox_depth")
            lines.append(f"mapper_serve_inbox_depth {depth}")
            if kept is not None:
                self._head(lines, "mapper_serve_inbox_deliveries")
                for status, kept_count in sorted(kept.items()):
                    label = _labels((("status", status),))
                    lines.append(f"mapper_serve_inbox_deliveries{label} {kept_count}")
            name = "mapper_serve_mapping_seconds"
            self._head(lines, name)
            for key, row in sorted(self._hist.items()):
                bounds = [f"{b:g}" for b in BUCKETS]
                for bound, count in [*zip(bounds, row, strict=False), ("+Inf", row[-1])]:
                    le = 'le="' + bound + '"'
                    lines.append(f"{name}_bucket{_labels(key, le)} {count:g}")
                lines.append(f"{name}_sum{_labels(key)} {row[-2]:g}")
                lines.append(f"{name}_count{_labels(key)} {row[-1]:g}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _head(lines: list[str], name: str) -> None:
        kind, text = _HELP.get(name, ("untyped", name))
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
