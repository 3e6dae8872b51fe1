"""Production monitoring: training-data profiles (`profiles`), drift and decay judgements
(`drift`), recording observations (`observe`), the alert state they move (`alerts`), and the
status per version (`status`)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "observe": "report_metrics report_batch",
        "status": "monitoring_status ModelStatus",
        "profiles": "profile_columns Profile",
        "drift": "batch_drift psi DriftThresholds",
    },
)
