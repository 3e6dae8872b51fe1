"""Production monitoring: training-data profiles (`profiles`), drift and decay judgements
(`drift`), recording observations (`observe`), the alert state they move (`alerts`), and the
status per version (`status`)."""

from typing import Any

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

def __getattr__(name: str) -> Any:
    # Imported on first use, so reading one submodule never pays for its siblings.
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
