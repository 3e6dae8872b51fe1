"""The modeltrail registry core: records, the registry, the tracking client and diffs.

Knows nothing of Slack, LLMs or email.
"""

from .config import Settings
from .errors import ModeltrailError
from .records import VersionDraft, VersionRecord
from .registry import Registry
from .tracking import Run, track

__all__ = [
    "ModeltrailError",
    "Registry",
    "Run",
    "Settings",
    "VersionDraft",
    "VersionRecord",
    "track",
]
