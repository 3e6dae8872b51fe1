"""The modeltrail registry core: records, the registry, the tracking client and diffs.

Knows nothing of Slack, LLMs or email. The names below load on first use, so importing a
small submodule (errors, records, capture) does not pull in SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modeltrail.core.config import Settings
    from modeltrail.core.diff.engine import VersionDiff, diff_versions
    from modeltrail.core.errors import ModeltrailError
    from modeltrail.core.records import VersionDraft, VersionRecord
    from modeltrail.core.registry.writer import Registry, open_registry
    from modeltrail.core.tracking import Run, track

_EXPORTS = {
    "ModeltrailError": "errors",
    "Registry": "registry",
    "Run": "tracking",
    "Settings": "config",
    "VersionDiff": "diff",
    "VersionDraft": "records",
    "VersionRecord": "records",
    "diff_versions": "diff",
    "open_registry": "registry.writer",
    "track": "tracking",
}

__all__ = [
    "ModeltrailError",
    "Registry",
    "Run",
    "Settings",
    "VersionDiff",
    "VersionDraft",
    "VersionRecord",
    "diff_versions",
    "open_registry",
    "track",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
