"""A compiled plan as bytes and back: what the compiled-mapping cache keeps between runs.

A Plan holds generated functions (`engine.fusion`, `jpcompile`, `model.fastcheck`): their code
objects are kept with `marshal` (so an entry is only good for the Python that wrote it; the
cache key names the Python version) and their namespaces with pickle, shared as they were.
Module-level functions and classes are kept by name; functions made inside another function
(a validator's `check`) by their code, module and closure; module sentinels (`FALLBACK`) by
name, so that `is` tests still hold after a round trip. A model class of `mapper.model` (the
generated checks hand it to the advisors) is kept by name and thawed as a `LazyModel`, which
imports it when first used: a clean run on a thawed plan never loads pydantic. Anything else
that cannot be kept raises `pickle.PicklingError`: that plan is then simply not cached.

Thawing imports only what the plan refers to (the functions, the models, the runtime), never
the YAML loader or the compiler: that is the start-up a cache hit saves.
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import sys
import types
from typing import Any, Protocol

from mapper.errors import Diagnostic
from mapper.language.plan import Plan

PROTOCOL = 5


class PlanStore(Protocol):
    """Where frozen plans are kept (`mapper.io.plancache.PlanCache`); the engine does no I/O."""

    def lookup(self, path: str, allow: tuple[str, ...]) -> bytes | None:
        """The frozen plan of this mapping if one is kept and still current."""

    def store(self, path: str, allow: tuple[str, ...], frozen: bytes) -> None:
        """Keep a frozen plan for this mapping (and the files read while compiling it)."""

    def recording(self) -> Any:
        """A context manager noting the files the loader reads (the plan's dependencies)."""


def freeze(plan: Plan, diags: list[Diagnostic]) -> bytes:
    """The plan and its compile diagnostics (warnings) as bytes.

    Raises:
        pickle.PicklingError: when something in the plan cannot be kept.
    """
    buf = io.BytesIO()
    try:
        _Freezer(buf).dump((plan, diags))
    except (TypeError, AttributeError, ValueError, RecursionError) as error:
        raise pickle.PicklingError(str(error)) from error
    return buf.getvalue()


def thaw(frozen: bytes) -> tuple[Plan, list[Diagnostic]]:
    """The plan and diagnostics `freeze` kept. Any exception means: compile instead."""
    plan, diags = _Thawer(io.BytesIO(frozen)).load()
    if not isinstance(plan, Plan):
        raise pickle.UnpicklingError("not a plan")
    return plan, list(diags)


def _sentinels() -> dict[int, tuple[str, str]]:
    """Bare `object()` sentinels of the loaded mapper modules: id -> (module, name)."""
    found: dict[int, tuple[str, str]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "mapper" or name.startswith("mapper.")):
            continue
        for attr, value in list(vars(module).items()):
            if type(value) is object:
                found.setdefault(id(value), (name, attr))
    return found


class _Freezer(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=PROTOCOL)
        self.sentinels = _sentinels()

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is not object:
            return None
        where = self.sentinels.get(id(obj))
        if where is None:
            raise pickle.PicklingError("an object() that is no module sentinel")
        return where

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if isinstance(obj, type) and _is_model(obj):
            return LazyModel, (obj.__module__, obj.__qualname__)
        if kind is types.MethodType and isinstance(obj.__self__, type) and _is_model(obj.__self__):
            owner = obj.__self__  # a model's classmethod validator, called by generated checks
            return LazyMethod, (LazyModel(owner.__module__, owner.__qualname__), obj.__name__)
        if kind is types.MappingProxyType:
            return _proxy, (dict(obj),)
        if kind is not types.FunctionType:
            return NotImplemented
        code = obj.__code__
        if code.co_filename.startswith("<"):  # generated: exec'd source, no module
            if obj.__closure__:
                raise pickle.PicklingError(f"generated closure {obj.__qualname__}")
            attrs = dict(obj.__dict__)
            return _generated, (marshal.dumps(code), obj.__globals__, obj.__name__,
                                obj.__defaults__, obj.__kwdefaults__, attrs)  # fmt: skip
        if "<locals>" in obj.__qualname__:  # made by a factory (a validator's `check`)
            cells = tuple(cell.cell_contents for cell in obj.__closure__ or ())
            return _local, (marshal.dumps(code), obj.__module__, obj.__name__,
                            obj.__defaults__, cells)  # fmt: skip
        return NotImplemented  # a module-level function: by name


class _Thawer(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        module, name = pid
        return getattr(importlib.import_module(module), name)


def _is_model(cls: type) -> bool:
    """True for a pydantic model class of `mapper.model` (pydantic is loaded when there is one)."""
    pydantic = sys.modules.get("pydantic")
    return (
        pydantic is not None
        and cls.__module__.startswith("mapper.model.")
        and issubclass(cls, pydantic.BaseModel)
    )


class LazyModel:
    """A model class named by its module and qualified name, imported when first used: an
    attribute or a call goes to the class itself (`resolve`)."""

    __slots__ = ("_model", "module", "qualname")

    def __init__(self, module: str, qualname: str) -> None:
        self.module, self.qualname = module, qualname
        self._model: Any = None

    def resolve(self) -> Any:
        """The class itself, imported now if it was not yet."""
        if self._model is None:
            found: Any = importlib.import_module(self.module)
            for part in self.qualname.split("."):
                found = getattr(found, part)
            self._model = found
        return self._model

    def __getattr__(self, name: str) -> Any:
        if name in LazyModel.__slots__:  # not set yet (during copying): no class to ask
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return LazyModel, (self.module, self.qualname)

    def __repr__(self) -> str:
        return f"LazyModel({self.module}.{self.qualname})"


class LazyMethod:
    """A classmethod of a model class named by a `LazyModel`: the class is imported at the
    first call, not when the plan is thawed."""

    __slots__ = ("_bound", "name", "owner")

    def __init__(self, owner: LazyModel, name: str) -> None:
        self.owner, self.name = owner, name
        self._bound: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._bound is None:
            self._bound = getattr(self.owner.resolve(), self.name)
        return self._bound(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return LazyMethod, (self.owner, self.name)

    def __repr__(self) -> str:
        return f"LazyMethod({self.owner.module}.{self.owner.qualname}.{self.name})"


def _proxy(items: dict[Any, Any]) -> types.MappingProxyType[Any, Any]:
    return types.MappingProxyType(items)


def _generated(
    code: bytes,
    namespace: dict[str, Any],
    name: str,
    defaults: tuple[Any, ...] | None,
    kwdefaults: dict[str, Any] | None,
    attrs: dict[str, Any],
) -> types.FunctionType:
    fn = types.FunctionType(marshal.loads(code), namespace, name, defaults)
    fn.__kwdefaults__ = kwdefaults
    fn.__dict__.update(attrs)
    return fn


def _local(
    code: bytes, module: str, name: str, defaults: tuple[Any, ...] | None, cells: tuple[Any, ...]
) -> types.FunctionType:
    namespace = vars(importlib.import_module(module))
    closure = tuple(types.CellType(value) for value in cells) or None
    return types.FunctionType(marshal.loads(code), namespace, name, defaults, closure)
