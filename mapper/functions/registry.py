"""`MapperFunctions`: jmespath's built-ins plus every custom function, and the name registries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import jmespath
from jmespath import functions

from mapper.functions import patterns
from mapper.functions.arguments import arity_of
from mapper.functions.context import ContextFunctions, EvalContext
from mapper.functions.documents import DocumentFunctions
from mapper.functions.markup import MarkupFunctions
from mapper.functions.numbers import NumberFunctions
from mapper.functions.patterns import PatternFunctions
from mapper.functions.principals import PrincipalFunctions
from mapper.functions.refs import RefFunctions, jira_associations
from mapper.functions.text import TextFunctions
from mapper.functions.timestamps import TimestampFunctions
from mapper.functions.values import ValueFunctions


class MapperFunctions(
    ContextFunctions,
    TimestampFunctions,
    TextFunctions,
    MarkupFunctions,
    PatternFunctions,
    ValueFunctions,
    NumberFunctions,
    DocumentFunctions,
    RefFunctions,
    PrincipalFunctions,
    functions.Functions,
):
    """The JMESPath function table of mapper: built-ins plus `_func_<name>` methods of the mixins.

    jmespath's metaclass collects every `_func_*` method with a `@signature` (inherited ones
    too) into `FUNCTION_TABLE`. One instance serves a whole run; the interpreter replaces
    `context` before each record. Arguments:
        regex_timeout_s: time limit of one regex operation; defaults to
            `mapper.functions.patterns.REGEX_TIMEOUT_S` as it is when the instance is created.
    """

    COMPOSED_CALLS: ClassVar[dict[tuple[str, str], tuple[Callable[[Any], Any], Any, Any]]] = {
        ("associations", "jira_keys"): (
            jira_associations,
            RefFunctions._func_associations,
            PatternFunctions._func_jira_keys,
        ),
    }
    """`outer(inner(x))` as one call, for the compiler (`jpcompile`; see `Generator._composed`):
    (the call, the outer and the inner function it stands for)."""

    def __init__(self, *, regex_timeout_s: float | None = None) -> None:
        self.context = EvalContext()
        self.params: Mapping[str, Any] = {}
        self.regex_timeout_s = (
            patterns.REGEX_TIMEOUT_S if regex_timeout_s is None else regex_timeout_s
        )


FUNCTION_NAMES: frozenset[str] = frozenset(MapperFunctions.FUNCTION_TABLE)
CUSTOM_FUNCTIONS: tuple[str, ...] = tuple(
    sorted(
        name
        for name, spec in MapperFunctions.FUNCTION_TABLE.items()
        if spec["function"].__module__.startswith("mapper.")
    )
)


def arity(name: str) -> tuple[int, int | None]:
    """(minimum, maximum) number of arguments of function `name`; maximum None = unbounded.

    jmespath's signature alone cannot express optional arguments (`regex_extract` takes 2 or 3):
    static checks should use this rather than `len(signature)`.

    Raises:
        KeyError: `name` is not a function (check FUNCTION_NAMES first).
    """
    return arity_of(MapperFunctions.FUNCTION_TABLE[name]["function"])


def make_options(custom_functions: MapperFunctions | None = None) -> jmespath.Options:
    """`jmespath.Options` using `custom_functions` (a fresh MapperFunctions by default).

    Each call without an argument creates its own instance, hence its own context.
    """
    functions_ = MapperFunctions() if custom_functions is None else custom_functions
    return jmespath.Options(custom_functions=functions_)
