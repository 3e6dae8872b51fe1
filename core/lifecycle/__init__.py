"""Lifecycle rules as pure plans (stages, rollback, retention, promotion gates: `rules`), the
hash-chained audit trail (`audit`), the transactional outbox (`outbox`) and reproduction recipes
(`reproduce`)."""

from modeltrail.core.lazy import lazy_exports

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
__getattr__ = lazy_exports(__name__, _PUBLIC)
