"""mapper's JMESPath functions: `MapperFunctions`, the name registries and their reference docs.

Custom functions live in mixins, one module per family (timestamps, text, markup, patterns,
values, documents, refs, principals, context); `registry` combines them with jmespath's
built-ins. All are pure and deterministic: a value a function cannot handle gives null, and the
only errors are jmespath's own (arity, argument types) and `EvalError` (regex timeouts and
invalid patterns, invalid format templates, unknown lookup tables).

Usage:
    functions = MapperFunctions()
    options = make_options(functions)
    functions.context = EvalContext(record=data, source="push.json")
    parsed.search(data, options=options)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapper._lazy import lazy_names

if TYPE_CHECKING:  # imported on first use (PEP 562): a cached run needs no reference docs
    from mapper.functions.context import EvalContext as EvalContext
    from mapper.functions.docs import FunctionDoc as FunctionDoc
    from mapper.functions.docs import FunctionExample as FunctionExample
    from mapper.functions.docs import function_docs as function_docs
    from mapper.functions.patterns import REGEX_MAX_INPUT as REGEX_MAX_INPUT
    from mapper.functions.patterns import REGEX_TIMEOUT_S as REGEX_TIMEOUT_S
    from mapper.functions.registry import CUSTOM_FUNCTIONS as CUSTOM_FUNCTIONS
    from mapper.functions.registry import FUNCTION_NAMES as FUNCTION_NAMES
    from mapper.functions.registry import MapperFunctions as MapperFunctions
    from mapper.functions.registry import arity as arity
    from mapper.functions.registry import make_options as make_options

_LAZY = {
    "EvalContext": "mapper.functions.context",
    "FunctionDoc": "mapper.functions.docs",
    "FunctionExample": "mapper.functions.docs",
    "function_docs": "mapper.functions.docs",
    "REGEX_MAX_INPUT": "mapper.functions.patterns",
    "REGEX_TIMEOUT_S": "mapper.functions.patterns",
    "CUSTOM_FUNCTIONS": "mapper.functions.registry",
    "FUNCTION_NAMES": "mapper.functions.registry",
    "MapperFunctions": "mapper.functions.registry",
    "arity": "mapper.functions.registry",
    "make_options": "mapper.functions.registry",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


__all__ = [
    "CUSTOM_FUNCTIONS",
    "FUNCTION_NAMES",
    "REGEX_MAX_INPUT",
    "REGEX_TIMEOUT_S",
    "EvalContext",
    "FunctionDoc",
    "FunctionExample",
    "MapperFunctions",
    "arity",
    "function_docs",
    "make_options",
]
