"""Lazy re-exports for a sub-package's `__init__`: the package names its public surface, and a
name's submodule (with its SQLAlchemy, numpy or git) is imported only when the name is used, so
reading one submodule never pays for its siblings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, public: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` resolving `public[name]` (a submodule of `package`) on first use."""

    def __getattr__(name: str) -> Any:
        if name in public:
            return getattr(import_module(f"{package}.{public[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
