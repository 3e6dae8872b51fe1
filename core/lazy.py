"""Lazy re-exports for a sub-package's `__init__`: the package names its public surface, and a
name's submodule (with its SQLAlchemy, numpy or git) is imported only when the name is used, so
reading one submodule never pays for its siblings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, names_by_module: Mapping[str, str]
) -> tuple[Callable[[str], Any], list[str]]:
    """A module `__getattr__` and `__all__` for `package`, from {submodule: "Name other_name"}."""
    where = {name: module for module, names in names_by_module.items() for name in names.split()}

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(where)
