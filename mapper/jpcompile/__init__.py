"""Compile JMESPath expressions to plain Python functions.

``compile_expression(text)`` parses with jmespath's own parser, then turns the AST into Python
source (straight-line code over local variables: nested ``type(x) is dict`` checks for field
chains, ``for`` loops for projections) that is ``exec``-ed once and cached per expression text.
The source of a compiled function is on its ``__jmespath_source__`` attribute.

The generated functions give the same results, and raise the same exceptions, as jmespath 1.1.0's
``TreeInterpreter`` (the jmespath compliance suite and a differential hypothesis test check it):

- field access mirrors ``value.get(key)`` / ``except AttributeError`` (fast path for ``dict``);
  ``*`` works on anything with ``.values()``; indexes, slices and projections want a ``list``;
- truthiness, ``==`` (with jmespath's ``0 == false`` special case), ordering only between numbers
  and strings (else null), ``!`` on numbers, projections dropping nulls, slices (step 0 raises
  ``ValueError``, on lists only), multi-selects over null giving null;
- function calls go through the given ``jmespath.functions.Functions`` instance (custom functions
  of a subclass included): unknown functions, arity and type errors are raised at run time,
  after the arguments are evaluated and only when that branch runs. Argument checks use fast
  paths that only accept what jmespath accepts and hand anything else to the instance's own
  check; stock functions are inlined unless the subclass overrides them; a subclass that
  overrides ``call_function`` or the validation methods gets every call through
  ``call_function``. ``&expr`` arguments are ``_Expression`` objects, as jmespath's;
- literals are returned as the very object held by the AST, as jmespath does (do not mutate them).

Deliberate limits: ``Options.dict_cls`` is not supported (multi-select hashes are ``dict``); the
function table is read at compile time; ``==`` results are taken as plain bools in filter
conditions (always true of JSON-shaped data).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from jmespath import functions as _jf

if TYPE_CHECKING:  # the code generator is imported when something is compiled: a plan from the
    # compiled-mapping cache needs only `_runtime`, and importing it imports this package
    from mapper.jpcompile._codegen import Generator as Inliner

__all__ = ["Inliner", "compile_ast", "compile_expression", "inliner"]


def __getattr__(name: str) -> Any:
    """`Inliner`, the code generator's class, imported when first used (PEP 562).

    An Inliner writes many expressions' statements into one generated function: `inline(ast,
    inp, depth, hoist)` gives an expression's lines and the atom of its value, field paths from
    `inp` shared between them; `namespace()` the names they use. The code agrees with
    `compile_ast`'s function whenever it raises nothing (an exception may come where that
    function would forgive one in `a || b`, or raise later): its caller must then evaluate the
    expression the usual way.
    """
    if name != "Inliner":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from mapper.jpcompile._codegen import Generator

    return Generator


_DEFAULT_FUNCTIONS = _jf.Functions()


def compile_ast(
    ast: Mapping[str, Any],
    functions: _jf.Functions | None = None,
    *,
    forgive: tuple[type[BaseException], ...] = (),
) -> Callable[[Any], Any]:
    """Compile a jmespath AST (``Parser().parse(text).parsed``) to a function of one document.

    `forgive`: exceptions that the left side of ``a || b`` may raise and that then count as a
    null left side, so that ``b`` is the default (mapper's own semantics, not jmespath's; empty
    by default: plain jmespath).
    """
    from mapper.jpcompile._codegen import Generator

    fns = _DEFAULT_FUNCTIONS if functions is None else functions
    return Generator(fns, forgive).build(ast)


def inliner(
    functions: _jf.Functions, forgive: tuple[type[BaseException], ...] = (), prefix: str = "j"
) -> Inliner:
    """An Inliner for expressions compiled with these `functions` and `forgive` (see
    `compile_ast`); every name it generates starts with `prefix`."""
    from mapper.jpcompile._codegen import Generator

    return Generator(functions, forgive, prefix)


def _compile_text(text: str, functions: _jf.Functions | None) -> Callable[[Any], Any]:
    from jmespath.parser import Parser

    return compile_ast(Parser().parse(text).parsed, functions)


_compile_cached = functools.lru_cache(maxsize=4096)(_compile_text)


def compile_expression(text: str, functions: _jf.Functions | None = None) -> Callable[[Any], Any]:
    """Parse `text` with jmespath (raising its ParseError family) and compile it; cached.

    `functions` defaults to a stock ``jmespath.functions.Functions()``.
    """
    try:
        hash(functions)
    except TypeError:  # an unhashable Functions object: compile without the cache
        return _compile_text(text, functions)
    return _compile_cached(text, functions)
