"""The weekly digest as data: what happened in a period (`period`), the exactly-once delivery
ledger (`ledger`) and the schedules that say when a period ends (`schedule`)."""

from typing import Any

_PUBLIC = {
    "Digest": "period",
    "load_digest": "period",
    "DigestLedger": "ledger",
    "Schedule": "schedule",
    "parse_schedule": "schedule",
    "Window": "schedule",
}
__all__ = sorted(_PUBLIC)

def __getattr__(name: str) -> Any:
    # Imported on first use, so reading one submodule never pays for its siblings.
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
