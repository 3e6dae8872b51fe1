"""Lifecycle rules as pure plans (stages, rollback, retention, promotion gates: `rules`), the
hash-chained audit trail (`audit`), the transactional outbox (`outbox`) and reproduction recipes
(`reproduce`)."""

from typing import Any

_PUBLIC = {
    "plan_stage": "rules",
    "plan_rollback": "rules",
    "plan_retire": "rules",
    "plan_retention": "rules",
    "judge_promotion": "rules",
    "GateRules": "rules",
    "GateDecision": "rules",
    "ModelState": "rules",
    "Plan": "rules",
    "LifecycleError": "rules",
    "verify_chain": "audit",
    "VerifyResult": "audit",
    "Outbox": "outbox",
    "enqueue": "outbox",
    "build_recipe": "reproduce",
    "Recipe": "reproduce",
}
__all__ = sorted(_PUBLIC)

def __getattr__(name: str) -> Any:
    # Imported on first use, so reading one submodule never pays for its siblings.
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
