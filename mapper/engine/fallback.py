"""FALLBACK: what a rule's generated function returns to say "take the reference path".

A module of its own, importing nothing: the run's hot path (`run.pipeline`, `engine.interpreter`)
tests for it without loading the code generators (`engine.fusion`) or the models behind them.
It is an enum member, so a plan kept by the compiled-mapping cache names this module for it,
and `is` tests still hold after the round trip.
"""

from __future__ import annotations

from enum import Enum


class Fallback(Enum):
    """The one value of `FALLBACK`."""

    FALLBACK = "FALLBACK"


FALLBACK = Fallback.FALLBACK
