"""The registry's door: `Registry`, the one writer (registration in `writer`, stage and
governance writes in `governance`), its read side that loads and compares versions
(`compare`), and the read-only query tools the assistant calls (`tools`)."""

from typing import Any

_PUBLIC = {
    "Registry": "writer",
    "check_model_name": "writer",
    "PromotionBlocked": "governance",
    "MoveResult": "governance",
    "compare": "compare",
    "changelog": "compare",
    "resolve_pair": "compare",
    "ChangelogEntry": "compare",
    "RegistryTools": "tools",
    "call_tool": "tools",
}
__all__ = sorted(_PUBLIC)

def __getattr__(name: str) -> Any:
    # Imported on first use, so reading one submodule never pays for its siblings.
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
