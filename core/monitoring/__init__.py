"""Production monitoring: training-data profiles (`profiles`), drift and decay judgements
(`drift`), recording observations (`observe`), the alert state they move (`alerts`), and the
status per version (`status`)."""

from modeltrail.core.lazy import lazy_exports

_PUBLIC = {
    "report_metrics": "observe",
    "report_batch": "observe",
    "monitoring_status": "status",
    "ModelStatus": "status",
    "profile_columns": "profiles",
    "Profile": "profiles",
    "batch_drift": "drift",
    "psi": "drift",
    "DriftThresholds": "drift",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
