"""Lifecycle rules as pure plans (stages, rollback, retention, promotion gates: `rules`), the
hash-chained audit trail (`audit`), the transactional outbox (`outbox`) and reproduction recipes
(`reproduce`)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "rules": "plan_stage plan_rollback plan_retire plan_retention judge_promotion"
        " GateRules GateDecision ModelState Plan LifecycleError",
        "approvals": "Policy PromotionRequest Owners",
        "audit": "verify_chain VerifyResult",
        "outbox": "Outbox enqueue",
        "reproduce": "build_recipe Recipe",
    },
)
