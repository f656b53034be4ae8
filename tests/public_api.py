"""The public surface of custlab, found by walking the package: what the architecture tests inspect.

A module is public when no part of its dotted name starts with an underscore; its public names are
its ``__all__``. A public callable is a function in some public ``__all__``, or a public method (or a
hand-written ``__init__``) of a class in one. Classes and functions re-exported by several modules
are listed once.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType

import custlab


def all_module_names() -> list[str]:
    """Every module and package below custlab (private ones included), sorted."""
    names = ["custlab"]
    names += [m.name for m in pkgutil.walk_packages(custlab.__path__, "custlab.")]
    return sorted(names)


def is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def public_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in all_module_names() if is_public(name)]


def _exported(module: ModuleType) -> Iterator[tuple[str, object]]:
    for name in getattr(module, "__all__", ()):
        yield name, getattr(module, name)


def public_classes() -> list[type]:
    """Every class listed in a public module's ``__all__``, once (exceptions and warnings left out)."""
    seen: dict[tuple[str, str], type] = {}
    for module in public_modules():
        for _, obj in _exported(module):
            if inspect.isclass(obj) and obj.__module__.startswith("custlab") and not issubclass(obj, BaseException):
                seen.setdefault((obj.__module__, obj.__qualname__), obj)
    return list(seen.values())


def _generated(function: Callable) -> bool:
    """True for methods written by ``dataclasses`` (their code is not in a file)."""
    code = getattr(function, "__code__", None)
    return code is None or not code.co_filename.endswith(".py")


def public_callables() -> list[tuple[str, Callable]]:
    """(dotted name, callable) of every public function and public method, once each."""
    seen: dict[tuple[str, str], tuple[str, Callable]] = {}
    for module in public_modules():
        for name, obj in _exported(module):
            if inspect.isfunction(obj) and obj.__module__.startswith("custlab"):
                seen.setdefault((obj.__module__, obj.__qualname__), (f"{obj.__module__}.{obj.__qualname__}", obj))
    for cls in public_classes():
        for klass in cls.__mro__:
            if not klass.__module__.startswith("custlab"):
                continue
            for attr, value in vars(klass).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                if isinstance(function, property):
                    continue
                if not inspect.isfunction(function) or _generated(function):
                    continue
                key = (function.__module__, function.__qualname__)
                seen.setdefault(key, (f"{function.__module__}.{function.__qualname__}", function))
    return sorted(seen.values(), key=lambda pair: pair[0])


def public_functions_returning(predicate: Callable[[type], bool]) -> list[type]:
    """Classes named in the return annotation of a public callable that satisfy ``predicate``."""
    found: dict[tuple[str, str], type] = {}
    for _, function in public_callables():
        try:
            hints = inspect.get_annotations(function, eval_str=True)
        except Exception:  # an annotation that only resolves under TYPE_CHECKING
            continue
        returned = hints.get("return")
        if inspect.isclass(returned) and returned.__module__.startswith("custlab") and predicate(returned):
            found.setdefault((returned.__module__, returned.__qualname__), returned)
    return list(found.values())


def is_dataclass_type(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) and isinstance(cls, type)
