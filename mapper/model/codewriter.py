"""The shared writer of generated Python code: lines, fresh names and the values they refer to.

The model's validators (`model.fastcheck`) and the engine's fused rule functions
(`engine.fusion`) are written with it, so that one generated function can both build and check
an object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a cached plan's generated code needs `GiveUp` only, not pydantic
    from pydantic import BaseModel


class GiveUp(Exception):
    """Raised by generated code: leave this payload to the reference path."""


class Writer:
    """The generated function's lines and the names they refer to."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {"GiveUp": GiveUp}
        self.lines: list[str] = []
        self.count = 0
        self.open: list[type[BaseModel]] = []  # models being inlined (recursion guard)
        self.seen: dict[str, str] | None = None  # engine.fusion: expression text -> its variable
        self.inliner: Any = None  # engine.fusion: writes expressions' statements (jpcompile)

    def bind(self, prefix: str, value: Any) -> str:
        self.count += 1
        name = f"{prefix}{self.count}"
        self.env[name] = value
        return name

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def name(self, prefix: str, value: Any = None, *, bind: bool = False) -> str:
        """A fresh name, bound to `value` in the namespace when `bind` (engine.fusion's API)."""
        return self.bind(prefix, value) if bind else self.fresh(prefix)

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def define(self, name: str, label: str) -> tuple[Any, str]:
        """Compile the lines; `(the function called name, its source)`."""
        source = "\n".join(self.lines)
        namespace = dict(self.env)
        exec(compile(source, f"<mapper-generated-{label}>", "exec"), namespace)  # our own code
        return namespace[name], source
