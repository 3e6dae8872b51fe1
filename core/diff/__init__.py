"""What changed between two versions, as pure functions of two `VersionRecord`s: the diff types
(`types`), the sections (`sections`: params, metrics, data, code, artifacts), the environment
(`environment`), the findings (`findings`), the likely causes of metric moves (`causes`) and
`diff_versions`, which assembles them (`engine`). No I/O: it imports neither the registry nor
the store."""

from modeltrail.core.diff.engine import diff_versions
from modeltrail.core.diff.types import Finding, MetricChange, VersionDiff

__all__ = ["Finding", "MetricChange", "VersionDiff", "diff_versions"]
