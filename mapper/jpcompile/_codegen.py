"""JMESPath AST -> Python source.

Each AST node is emitted as statements that leave its value in a fresh local variable (or a
constant); conditions (filters, ``&&``/``||``) are emitted as Python tests with jmespath's truth
value. Evaluation order, and so which error is raised first, is the interpreter's.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import jmespath.visitor as _jv
from jmespath import functions as _jf

from mapper.jpcompile import _runtime as rt

_MAX_INDENT = 40  # deeper nodes go to a separate generated function (Python caps nesting)
_MAX_LOOPS = 10
_MAX_FIELD_RUN = 8

# Validation methods whose stock behaviour the fast call path reproduces.
_VALIDATION = (
    "call_function",
    "_validate_arguments",
    "_type_check",
    "_type_check_single",
    "_get_allowed_pytypes",
    "_subtype_check",
)
# Python type names jmespath accepts (REVERSE_TYPES_MAP) -> the builtin type, for fast checks.
_FAST_TYPES = {
    "bool": bool,
    "list": list,
    "dict": dict,
    "NoneType": type(None),
    "str": str,
    "float": float,
    "int": int,
    "_Expression": rt.Expression,
}
_SEQUENTIAL = frozenset({"subexpression", "pipe", "index_expression"})
_LOOPS = frozenset({"projection", "filter_projection", "flatten", "value_projection"})
_CMP_OPS = {"lt": "<", "gt": ">", "lte": "<=", "gte": ">="}


def _is_literal_safe(value: Any) -> bool:
    """True if repr(value) is a Python literal giving an equal object of the same type."""
    if value is None or type(value) in (bool, str):
        return True
    if type(value) is int:
        return -(10**18) < value < 10**18  # huge ints may exceed Python's int/str digit limit
    return type(value) is float and math.isfinite(value)


def _no_special_equality(value: Any) -> bool:
    """A literal for which jmespath's `_equals` is plain `==` whatever the other side."""
    if type(value) in (str, list, dict) or value is None:
        return True
    return type(value) in (int, float) and value not in (0, 1)


def _has_loop(node: Any) -> bool:
    """Does evaluating `node` (not counting &expr bodies) run a projection loop?"""
    if not isinstance(node, dict) or node.get("type") == "expref":
        return False
    if node.get("type") in _LOOPS:
        return True
    return any(_has_loop(child) for child in node.get("children") or ())


class Block:
    """Indented lines of one generated function."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.loops = 0

    def add(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self, loop: bool = False) -> _Indent:
        return _Indent(self, loop)


class _Indent:
    def __init__(self, block: Block, loop: bool) -> None:
        self.block, self.loop = block, int(loop)

    def __enter__(self) -> None:
        self.block.depth += 1
        self.block.loops += self.loop

    def __exit__(self, *exc: object) -> None:
        self.block.depth -= 1
        self.block.loops -= self.loop


class Generator:
    """Generates one module of functions for an AST; `build` returns the entry function."""

    def __init__(
        self, functions: Any, forgive: tuple[type[BaseException], ...] = (), prefix: str = ""
    ) -> None:
        self.functions = functions
        self.prefix = prefix  # of every generated name (an Inliner shares a namespace)
        self.root: str | None = None  # Inliner: the variable holding the document
        self.paths: dict[tuple[Any, ...], str] = {}  # Inliner: root field path -> its variable
        self.hoisted: list[str] | None = None  # Inliner: where new root paths are computed
        self.hoist_depth = 0
        self.ns: dict[str, Any] = dict(rt.HELPERS)
        self.forgive = bool(forgive)  # `a || b`: these errors of `a` count as null
        self.ns["_FORGIVE"] = forgive
        self.defs: list[str] = []
        self.exprefs: dict[str, tuple[Any, str]] = {}  # constant name -> (node, function name)
        self.n = 0
        cls = type(functions)
        base = _jf.Functions
        self.stock_validation = all(getattr(cls, m, None) is getattr(base, m) for m in _VALIDATION)
        self.stock_keys = all(getattr(cls, m, None) is getattr(base, m) for m in rt.KEY_METHODS)
        self.table: Any = getattr(functions, "FUNCTION_TABLE", None)

    def build(self, ast: Any) -> Callable[[Any], Any]:
        entry = self.function(ast)
        source = "\n".join(self.defs)
        exec(compile(source, "<jmespath>", "exec"), self.ns)
        for name, (node, fname) in self.exprefs.items():
            self.ns[name] = rt.Expression(node, self.ns[fname], self.functions)
        fn: Callable[[Any], Any] = self.ns[entry]
        fn.__jmespath_source__ = source  # type: ignore[attr-defined]
        return fn

    # -- names and constants
    def var(self, prefix: str = "t") -> str:
        self.n += 1
        return f"{self.prefix}{prefix}{self.n}"

    def const(self, value: Any, inline: bool = True) -> str:
        """A Python expression for `value`: its repr when safe (and wanted), else a global name."""
        if inline and _is_literal_safe(value):
            return repr(value)
        name = self.var("_k")
        self.ns[name] = value
        return name

    def function(self, node: Any) -> str:
        """Define a generated function evaluating `node` on its argument; return its name."""
        name = self.var("_f")
        block = Block()
        result = self.emit(node, "v", block)
        block.add(f"return {result}")
        self.defs.append(f"def {name}(v):\n" + "\n".join(block.lines) + "\n")
        return name

    # -- value context: emit statements, return an atom (variable or constant) holding the value
    def emit(self, node: Any, inp: str, b: Block) -> str:
        if b.depth > _MAX_INDENT or b.loops >= _MAX_LOOPS:
            out = self.var()
            b.add(f"{out} = {self.function(node)}({inp})")
            return out
        method = getattr(self, "e_" + str(node["type"]), None)
        if method is None:  # jmespath: NotImplementedError when visited
            out = self.var()
            b.add(f"{out} = _unknown({self.const(node['type'])})")
            return out
        result: str = method(node, inp, b)
        return result

    def e_identity(self, node: Any, inp: str, b: Block) -> str:
        return inp

    e_current = e_identity

    def e_literal(self, node: Any, inp: str, b: Block) -> str:
        # a name, never a Python literal: atoms may meet `x is None` or `x.join(...)`
        return self.const(node["value"], inline=False)

    def e_key_val_pair(self, node: Any, inp: str, b: Block) -> str:
        return self.emit(node["children"][0], inp, b)

    def e_field(self, node: Any, inp: str, b: Block) -> str:
        return self.fields([node["value"]], inp, b)

    def fields(self, keys: list[Any], inp: str, b: Block) -> str:
        """A run of field lookups a.b.c: nested dict fast path, `_path` for anything else."""
        if inp == self.root:
            return self.root_path(tuple(keys), b)
        out = self.var()
        b.add(f"if type({inp}) is dict:")
        b.depth += 1
        b.add(f"{out} = {inp}.get({self.const(keys[0])})")
        for key in keys[1:]:
            b.add(f"if type({out}) is dict:")
            b.depth += 1
            b.add(f"{out} = {out}.get({self.const(key)})")
        for i in range(len(keys) - 1, 0, -1):
            b.depth -= 1
            b.add(f"elif {out} is not None:")
            b.add(f"    {out} = _path({out}, {self.const(tuple(keys[i:]))})")
        b.depth -= 1
        b.add(f"elif {inp} is None:")
        b.add(f"    {out} = None")
        b.add("else:")
        b.add(f"    {out} = _path({inp}, {self.const(tuple(keys))})")
        return out

    def root_path(self, keys: tuple[Any, ...], b: Block) -> str:
        """Inliner: a field path from the document, computed once for every expression inlined.

        Each prefix gets a variable of its own, computed where the Inliner hoists paths (before
        the statements of the expression being inlined, so it precedes every later use); with no
        such place, the path is computed in place from its longest known prefix.
        """
        known = next((i for i in range(len(keys), 0, -1) if keys[:i] in self.paths), 0)
        cur = self.paths[keys[:known]] if known else str(self.root)
        if known == len(keys):
            return cur
        if self.hoisted is None:
            return self.fields(list(keys[known:]), cur, b) if known else self._plain(keys, b)
        pad = "    " * self.hoist_depth
        for i in range(known, len(keys)):
            out, key = self.var("p"), self.const(keys[i])
            slow = f"_path({cur}, {self.const((keys[i],))})"
            self.hoisted.append(
                f"{pad}{out} = {cur}.get({key}) if type({cur}) is dict else "
                f"(None if {cur} is None else {slow})"
            )
            self.paths[keys[: i + 1]] = cur = out
        return cur

    def _plain(self, keys: tuple[Any, ...], b: Block) -> str:
        root, self.root = self.root, None
        try:
            return self.fields(list(keys), str(root), b)
        finally:
            self.root = root

    def inline(self, ast: Any, inp: str, depth: int, hoist: bool) -> tuple[list[str], str]:
        """Inliner: statements computing `ast` on the document variable `inp`, indented `depth`
        levels, and the atom holding its value. With `hoist` (statements that run whenever
        the later ones do), new root field paths are computed first and kept for later
        expressions; else known ones are used and new ones computed in place."""
        self.root = inp
        self.hoisted, self.hoist_depth = ([] if hoist else None), depth
        block = Block()
        block.depth = depth
        result = self.emit(ast, inp, block)
        lines = (self.hoisted or []) + block.lines
        self.hoisted = None
        return lines, result

    def namespace(self) -> dict[str, Any]:
        """Inliner: the names the inlined statements use (helper functions defined, `&expr`
        values made); call once, after the last `inline`."""
        exec(compile("\n".join(self.defs), "<jmespath>", "exec"), self.ns)
        for name, (node, fname) in self.exprefs.items():
            self.ns[name] = rt.Expression(node, self.ns[fname], self.functions)
        return self.ns

    def e_subexpression(self, node: Any, inp: str, b: Block) -> str:
        """subexpression, pipe and index_expression: each child applied to the previous value."""
        steps: list[Any] = []

        def flatten(n: Any) -> None:
            for child in n["children"]:
                (flatten if child["type"] in _SEQUENTIAL else steps.append)(child)

        flatten(node)
        cur, i = inp, 0
        while i < len(steps):
            j = i
            while j < len(steps) and steps[j]["type"] == "field" and j - i < _MAX_FIELD_RUN:
                j += 1
            if j > i:
                cur = self.fields([s["value"] for s in steps[i:j]], cur, b)
                i = j
            else:
                cur = self.emit(steps[i], cur, b)
                i += 1
        return cur

    e_pipe = e_index_expression = e_subexpression

    def e_index(self, node: Any, inp: str, b: Block) -> str:
        out, i = self.var(), node["value"]
        if type(i) is not int:
            b.add(f"{out} = _index({inp}, {self.const(i, inline=False)})")
            return out
        test = f"len({inp}) > {i}" if i >= 0 else f"len({inp}) >= {-i}"
        b.add(f"if type({inp}) is list:")
        b.add(f"    {out} = {inp}[{i}] if {test} else None")
        b.add(f"elif {inp} is None:")
        b.add(f"    {out} = None")
        b.add("else:")
        b.add(f"    {out} = _index({inp}, {i})")
        return out

    def e_slice(self, node: Any, inp: str, b: Block) -> str:
        out, s = self.var(), self.const(slice(*node["children"]))
        b.add(f"{out} = {inp}[{s}] if type({inp}) is list else _slice({inp}, {s})")
        return out

    def e_multi_select_list(self, node: Any, inp: str, b: Block) -> str:
        out = self.var()
        b.add(f"if {inp} is None:")
        b.add(f"    {out} = None")
        b.add("else:")
        with b.indent():
            items = [self.emit(child, inp, b) for child in node["children"]]
            b.add(f"{out} = [{', '.join(items)}]")
        return out

    def e_multi_select_dict(self, node: Any, inp: str, b: Block) -> str:
        out = self.var()
        b.add(f"if {inp} is None:")
        b.add(f"    {out} = None")
        b.add("else:")
        with b.indent():
            b.add(f"{out} = {{}}")
            for child in node["children"]:
                item = self.emit(child, inp, b)
                b.add(f"{out}[{self.const(child['value'])}] = {item}")
        return out

    def e_comparator(self, node: Any, inp: str, b: Block) -> str:
        out = self.var()
        b.add(f"{out} = {self.cond_comparator(node, inp, b)}")
        return out

    def e_not_expression(self, node: Any, inp: str, b: Block) -> str:
        out = self.var()
        b.add(f"{out} = {self.cond(node, inp, b)}")
        return out

    def e_or_expression(self, node: Any, inp: str, b: Block) -> str:
        return self._and_or(node, inp, b, is_or=True)

    def e_and_expression(self, node: Any, inp: str, b: Block) -> str:
        return self._and_or(node, inp, b, is_or=False)

    def _and_or(self, node: Any, inp: str, b: Block, is_or: bool) -> str:
        out = self.var()
        if is_or and self.forgive:  # a default after a failing left side (see compile_ast)
            b.add("try:")
            with b.indent():
                left = self.emit(node["children"][0], inp, b)
                b.add(f"{out} = {left}")
            b.add("except _FORGIVE:")
            b.add(f"    {out} = None")
            left = out
        else:
            left = self.emit(node["children"][0], inp, b)
            b.add(f"{out} = {left}")
        test = self.truthy(left)
        b.add(f"if not {test}:" if is_or else f"if {test}:")
        with b.indent():
            b.add(f"{out} = {self.emit(node['children'][1], inp, b)}")
        return out

    # -- projections
    def _loop_head(self, out: str, base: str, b: Block) -> str:
        b.add(f"if isinstance({base}, list):")
        b.depth += 1
        b.add(f"{out} = []")
        elem = self.var("e")
        b.add(f"for {elem} in {base}:")
        return elem

    def _loop_tail(self, out: str, b: Block) -> None:
        b.depth -= 1
        b.add("else:")
        b.add(f"    {out} = None")

    def _collect(self, node: Any, elem: str, out: str, b: Block) -> None:
        """Append node's value on elem to out unless it is null."""
        item = self.emit(node, elem, b)
        b.add(f"if {item} is not None:")
        b.add(f"    {out}.append({item})")

    def e_projection(self, node: Any, inp: str, b: Block) -> str:
        left, right = node["children"]
        if left["type"] == "flatten":
            if right["type"] == "identity":
                return self.flatten(left, inp, b, drop_null=True)
            if not _has_loop(right):
                return self.flat_projection(left, right, inp, b)
        base = self.emit(left, inp, b)
        out = self.var()
        if right["type"] == "identity":
            elem = self.var("e")
            b.add(f"if isinstance({base}, list):")
            b.add(f"    {out} = [{elem} for {elem} in {base} if {elem} is not None]")
            b.add("else:")
            b.add(f"    {out} = None")
            return out
        elem = self._loop_head(out, base, b)
        with b.indent(loop=True):
            self._collect(right, elem, out, b)
        self._loop_tail(out, b)
        return out

    def flat_projection(self, flat: Any, right: Any, inp: str, b: Block) -> str:
        """`x[].rhs` in one pass (rhs has no loop of its own, so it is emitted twice)."""
        base = self.emit(flat["children"][0], inp, b)
        out = self.var()
        elem = self._loop_head(out, base, b)
        with b.indent(loop=True):
            b.add(f"if type({elem}) is dict or not isinstance({elem}, list):")
            with b.indent():
                self._collect(right, elem, out, b)
            b.add("else:")
            with b.indent():
                inner = self.var("e")
                b.add(f"for {inner} in {elem}:")
                with b.indent(loop=True):
                    self._collect(right, inner, out, b)
        self._loop_tail(out, b)
        return out

    def e_filter_projection(self, node: Any, inp: str, b: Block) -> str:
        left, right, condition = node["children"]
        base = self.emit(left, inp, b)
        out = self.var()
        elem = self._loop_head(out, base, b)
        with b.indent(loop=True):
            b.add(f"if {self.cond(condition, elem, b)}:")
            with b.indent():
                self._collect(right, elem, out, b)
        self._loop_tail(out, b)
        return out

    def e_flatten(self, node: Any, inp: str, b: Block) -> str:
        return self.flatten(node, inp, b, drop_null=False)

    def flatten(self, node: Any, inp: str, b: Block, drop_null: bool) -> str:
        """Flatten; with drop_null also the `[]` projection's identity step (drops nulls)."""
        base = self.emit(node["children"][0], inp, b)
        out, x = self.var(), self.var("x")
        elem = self._loop_head(out, base, b)
        with b.indent(loop=True):
            b.add(f"if isinstance({elem}, list):")
            if drop_null:
                b.add(f"    {out} += [{x} for {x} in {elem} if {x} is not None]")
                b.add(f"elif {elem} is not None:")
            else:
                b.add(f"    {out}.extend({elem})")
                b.add("else:")
            b.add(f"    {out}.append({elem})")
        self._loop_tail(out, b)
        return out

    def e_value_projection(self, node: Any, inp: str, b: Block) -> str:
        left, right = node["children"]
        base = self.emit(left, inp, b)
        out, vals = self.var(), self.var("vals")
        b.add(
            f"{vals} = {base}.values() if type({base}) is dict else "
            f"(_NOVALUES if {base} is None else _values({base}))"
        )
        b.add(f"if {vals} is _NOVALUES:")
        b.add(f"    {out} = None")
        b.add("else:")
        with b.indent():
            b.add(f"{out} = []")
            elem = self.var("e")
            b.add(f"for {elem} in {vals}:")
            with b.indent(loop=True):
                self._collect(right, elem, out, b)
        return out

    # -- functions
    def e_expref(self, node: Any, inp: str, b: Block) -> str:
        child = node["children"][0]
        name = self.var("_x")
        self.exprefs[name] = (child, self.function(child))
        return name

    def e_function_expression(self, node: Any, inp: str, b: Block) -> str:
        name, children = node["value"], node["children"]
        composed = self._composed(name, children, inp, b)
        if composed is not None:
            return composed
        args = [self.emit(child, inp, b) for child in children]
        out = self.var()
        generic = (
            f"{self.const(self.functions.call_function)}({self.const(name)}, [{', '.join(args)}])"
        )
        spec = self.table.get(name) if isinstance(self.table, dict) else None
        if not (self.stock_validation and isinstance(spec, dict) and _arity_ok(spec, len(args))):
            b.add(f"{out} = {generic}")  # unknown function, arity error, custom validation...
            return out
        checks = Block()
        checks.depth = b.depth
        try:
            for arg, param in zip(args, spec["signature"], strict=False):
                self._type_check(arg, param["types"], name, checks)
            call = self._call(name, spec, args, checks)
        except Exception:  # odd signature: let call_function fail (or not) exactly as jmespath
            call = generic
        else:
            b.lines.extend(checks.lines)
            lines = self._template(spec["function"], args, out, call)
            if lines is not None:
                for line in lines:
                    b.add(line)
                return out
        b.add(f"{out} = {call}")
        return out

    def _template(self, function: Any, args: list[str], out: str, call: str) -> list[str] | None:
        """The statements a function's code template gives for these arguments, if any.

        A function object may carry `inline_code(generator, args, constants, out, call)`
        (mapper.functions.inline describes the protocol): lines assigning `out` exactly as
        `call` would, the usual case written out and anything else left to `call`.
        """
        template = getattr(function, "inline_code", None)
        if template is None:
            return None
        constants = [self._constant(arg) for arg in args]
        lines: list[str] | None = template(self, args, constants, out, call)
        return lines

    def _constant(self, atom: str) -> tuple[bool, Any]:
        """(True, value) when `atom` is a constant of the generated code, else (False, None)."""
        if atom in self.exprefs:
            return False, None
        if atom in self.ns:
            return True, self.ns[atom]
        try:
            return True, ast.literal_eval(atom)
        except (ValueError, SyntaxError):
            return False, None

    def _composed(self, name: str, children: list[Any], inp: str, b: Block) -> str | None:
        """`outer(inner(x))` as one call, when the function object offers it.

        `functions.COMPOSED_CALLS[(outer, inner)]` is `(f, outer function, inner function)`:
        `f(x)` gives exactly `outer(inner(x))` for every `x` that passes `inner`'s type check
        (emitted here as usual), and `inner`'s result always passes `outer`'s. Taken only while
        the table still holds those two functions, with jmespath's own argument checks.
        """
        table = getattr(self.functions, "COMPOSED_CALLS", None)
        if not table or len(children) != 1 or children[0]["type"] != "function_expression":
            return None
        inner = children[0]
        entry = table.get((name, inner["value"]))
        if entry is None or len(inner["children"]) != 1 or not self.stock_validation:
            return None
        fn, functions = entry[0], entry[1:]
        specs = [
            self.table.get(n) if isinstance(self.table, dict) else None
            for n in (name, inner["value"])
        ]
        for spec, function in zip(specs, functions, strict=True):
            if not (isinstance(spec, dict) and spec["function"] is function):
                return None
            if not _arity_ok(spec, 1):
                return None
        arg = self.emit(inner["children"][0], inp, b)
        self._type_check(arg, specs[1]["signature"][0]["types"], inner["value"], b)  # type: ignore[index]
        out = self.var()
        b.add(f"{out} = {self.const(fn)}({arg})")
        return out

    def _type_check(self, arg: str, types: Any, name: str, b: Block) -> None:
        """Emit the check of one argument; anything not surely valid goes to jmespath's check."""
        if not types or arg in self.exprefs:
            return  # no constraint, or an &expr constant (an expref, always)
        if self._constant_ok(arg, types):
            return  # a literal of an allowed type: nothing to check at run time
        check = self.const(self.functions._type_check_single)
        call = f"{check}({arg}, {self.const(types)}, {self.const(name)})"
        allowed, subtypes = self.functions._get_allowed_pytypes(types)
        if not subtypes:
            b.add(f"if {self._type_test(arg, allowed)}:")
            b.add(f"    {call}")
            return
        groups = [
            frozenset(_FAST_TYPES[t] for t in group if t in _FAST_TYPES) for group in subtypes
        ]
        if len(groups) > 1:
            ok = self.const(lambda value, groups=groups: rt.subtypes_ok(groups, value))
            b.add(f"if type({arg}) is not list or not {ok}({arg}):")
            b.add(f"    {call}")
            return
        x = self.var("x")
        b.add(f"if type({arg}) is list:")
        b.add(f"    for {x} in {arg}:")
        b.add(f"        if {self._type_test(x, groups[0])}:")
        b.add(f"            {call}")
        b.add("            break")
        b.add("else:")
        b.add(f"    {call}")

    def _constant_ok(self, arg: str, types: Any) -> bool:
        """True when `arg` is a constant (inline literal or bound name) of an allowed type."""
        if arg in self.ns:
            value = self.ns[arg]
        else:
            try:
                value = ast.literal_eval(arg)
            except (ValueError, SyntaxError):
                return False  # a variable
        allowed, subtypes = self.functions._get_allowed_pytypes(types)
        return (
            not subtypes
            and type(value) in (str, int, float, bool, type(None))
            and (type(value).__name__ in allowed)
        )

    def _type_test(self, atom: str, allowed: Any) -> str:
        """A test true when type(atom) is NOT one of the builtin types for these type names."""
        fast = frozenset(
            _FAST_TYPES[t] if isinstance(t, str) else t
            for t in allowed
            if not isinstance(t, str) or t in _FAST_TYPES
        )
        if len(fast) == 1:
            return f"type({atom}) is not {self.const(next(iter(fast)))}"
        return f"type({atom}) not in {self.const(fast)}"

    def _call(self, name: str, spec: dict[str, Any], args: list[str], b: Block) -> str:
        """The call itself: inlined for unchanged stock functions, else the bound method."""
        function = spec["function"]
        if function is _jf.Functions.FUNCTION_TABLE.get(name, {}).get("function"):
            if name in rt.INLINE:
                return rt.INLINE[name](args)
            if name in rt.INLINE_EXPREF and self.stock_keys:
                helper, pos = rt.INLINE_EXPREF[name]
                if args[pos] in self.exprefs:
                    fn_args = [self.exprefs[a][1] if i == pos else a for i, a in enumerate(args)]
                    return f"{helper}({', '.join(fn_args)})"
        unwrapped = self._unwrapped(function, len(spec["signature"]), args, name, b)
        if unwrapped is not None:
            return unwrapped
        return f"{self.const(function.__get__(self.functions))}({', '.join(args)})"

    def _unwrapped(
        self, function: Any, fixed: int, args: list[str], name: str, b: Block
    ) -> str | None:
        """Call a function that checks its extra arguments itself without that wrapper.

        A wrapper following the protocol has `__wrapped__` and `extra_types(count)`, the
        jmespath types of `count` arguments past the signature (None: too many, so the wrapper
        must raise). The checks are emitted here instead; they raise jmespath's own type error.
        """
        raw = getattr(function, "__wrapped__", None)
        extra_types = getattr(function, "extra_types", None)
        if raw is None or extra_types is None:
            return None
        types = extra_types(len(args) - fixed) if len(args) > fixed else []
        if types is None:
            return None
        for arg, expected in zip(args[fixed:], types, strict=True):
            self._type_check(arg, expected, name, b)
        return f"{self.const(raw.__get__(self.functions))}({', '.join(args)})"

    # -- boolean context: emit statements, return a Python test with jmespath's truth value
    def truthy(self, atom: str) -> str:
        return f"({atom} if type({atom}) in _PYT else _jtrue({atom}))"

    def cond(self, node: Any, inp: str, b: Block) -> str:
        kind = node["type"]
        if kind == "comparator":
            return self.cond_comparator(node, inp, b)
        if kind == "literal":
            return repr(rt.is_true(node["value"]))
        if kind == "not_expression":
            value = self.emit(node["children"][0], inp, b)
            return f"(not {value} if type({value}) in _PYT else _not({value}))"
        if kind in ("and_expression", "or_expression"):
            out = self.var("c")
            left = self.cond(node["children"][0], inp, b)
            b.add(f"if {left}:" if kind == "and_expression" else f"if not {left}:")
            with b.indent():
                b.add(f"{out} = {self.cond(node['children'][1], inp, b)}")
            b.add("else:")
            b.add(f"    {out} = {kind == 'or_expression'}")
            return out
        return self.truthy(self.emit(node, inp, b))

    def cond_comparator(self, node: Any, inp: str, b: Block) -> str:
        """An expression with the comparator's value."""
        op = node["value"]
        lnode, rnode = node["children"]
        left, right = (
            repr(n["value"])
            if n["type"] == "literal" and _is_literal_safe(n["value"])
            else self.emit(n, inp, b)
            for n in (lnode, rnode)
        )
        if op in ("eq", "ne"):
            neg = "not " if op == "ne" else ""
            literals = [n["value"] for n in (lnode, rnode) if n["type"] == "literal"]
            if any(_no_special_equality(v) for v in literals):
                return f"({neg}({left} == {right}))"
            return (
                f"({neg}({left} == {right}) if (type({left}) is bool) is (type({right}) is bool)"
                f" else {neg}_equals({left}, {right}))"
            )
        if op not in _CMP_OPS:  # jmespath fails looking the operator up: KeyError at run time
            return f"{self.const(_jv.TreeInterpreter.COMPARATOR_FUNC)}[{self.const(op)}]"
        tests = [
            f"(type({x}) in _NS or _cmpok({x}))"
            for x, n in ((left, lnode), (right, rnode))
            if not (n["type"] == "literal" and type(n["value"]) in (int, float, str))
        ]
        compare = f"{left} {_CMP_OPS[op]} {right}"
        return f"(({compare}) if {' and '.join(tests)} else None)" if tests else f"({compare})"


def _arity_ok(spec: dict[str, Any], nargs: int) -> bool:
    signature = spec.get("signature")
    if not isinstance(signature, list | tuple):
        return False
    if signature and signature[-1].get("variadic"):
        return nargs >= len(signature)
    return nargs == len(signature)
