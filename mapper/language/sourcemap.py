"""Language stage, load step: where in the mapping text each value and key was written.

A SourceMap is filled by the YAML reader (`loader.parse_yaml`) and read by every later step to
locate a diagnostic at file:line:col from its mapping location.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mapper.errors import Diagnostic, Loc, SourceSpan


@dataclass
class SourceMap:
    """Positions of YAML nodes by mapping location: values and the keys that hold them."""

    path: str
    values: dict[Loc, SourceSpan] = field(default_factory=dict)
    keys: dict[Loc, SourceSpan] = field(default_factory=dict)
    quoted: dict[Loc, bool] = field(default_factory=dict)

    def span(self, loc: Loc, *, prefer_key: bool = False) -> SourceSpan | None:
        """The closest known position for `loc` (walking up to its parents)."""
        for end in range(len(loc), -1, -1):
            sub = loc[:end]
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for t in table:
                if sub in t:
                    return t[sub]
        return None

    def locate(self, diag: Diagnostic, *, prefer_key: bool = False) -> Diagnostic:
        """Attach the span of the diagnostic's loc, unless it already has one."""
        if diag.span is not None:
            return diag
        return replace(diag, span=self.span(diag.loc, prefer_key=prefer_key))
