"""What a registration is checked against and turned into, before any connection is open:
the name and metric checks on a draft, the rows of its data snapshots, and the summary the
audit trail keeps of it. Pure functions, so the writer can validate everything first.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from modeltrail.core.errors import InvalidMetricError, InvalidNameError, UsageError
from modeltrail.core.metrics import CheckedPoints, check_metric_name, check_metric_value
from modeltrail.core.params import encode_value
from modeltrail.core.records import DataSnapshot, VersionDraft
from modeltrail.core.timestamps import LATEST_EPOCH

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidNameError(
            f"{name!r} is not a valid model name",
            hint="use letters, digits, '.', '_', '-' or '/', starting with a letter or digit",
        )
    return name


def check_metric_points(
    metric_points: Mapping[str, Sequence[tuple[int, float, float]]],
) -> dict[str, list[tuple[int, float, float]]]:
    checked: dict[str, list[tuple[int, float, float]]] = {}
    for name, history in metric_points.items():
        check_metric_name(name)
        if not history:
            continue
        if history.__class__ is CheckedPoints:
            checked[name] = history  # type: ignore[assignment]
            continue
        exact = True  # the tracking client hands over exact int/float tuples already
        for step, value, stamp in history:
            if value.__class__ is not float or not math.isfinite(value):
                check_metric_value(name, value)
                exact = False
            if step.__class__ is not int:
                if not isinstance(step, int) or isinstance(step, bool):
                    raise InvalidMetricError(
                        f"metric {name!r} has step {step!r}; steps are integers"
                    )
                exact = False
            if stamp.__class__ is not float:
                exact = False
            if not stamp < LATEST_EPOCH:  # also catches NaN
                raise InvalidMetricError(
                    f"metric {name!r} has a point at {stamp!r}, which is not a time before "
                    "the year 3000 (timestamps are seconds since 1970)"
                )
        checked[name] = (
            list(history) if exact else [(int(s), float(v), float(t)) for s, v, t in history]
        )
    return checked


_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")


def has_control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def check_text_fields(draft: VersionDraft) -> None:
    """Names, roles, tags and URIs never hold control characters (a newline in a data role
    once ran as a command in `reproduce`'s verify-data.sh), and a commit is hexadecimal."""
    fields: list[tuple[str, str | None]] = []
    for snap in draft.data:
        fields += [(f"data role {snap.role!r}", snap.role), (f"data {snap.role!r} path", snap.path)]
        fields.append((f"data {snap.role!r} digest", snap.digest))
    for art in draft.artifacts:
        fields.append((f"artifact name {art.name!r}", art.name))
        fields.append((f"artifact {art.name!r} URI", art.uri))
    for key, value in draft.tags.items():
        fields += [(f"tag name {key!r}", key), (f"tag {key!r}", str(value))]
    if draft.code is not None:
        fields += [
            ("code repository", draft.code.repo_root),
            ("code remote URL", draft.code.remote_url),
            ("code branch", draft.code.branch),
        ]
        if draft.code.commit is not None and not _COMMIT.match(draft.code.commit):
            raise UsageError(
                f"commit {draft.code.commit!r} is not a git commit (7 to 64 hexadecimal digits)",
                hint="check GITHUB_SHA / CI_COMMIT_SHA or the MLflow run's source commit",
            )
    for what, text in fields:
        if text is None:
            continue
        if has_control(text):
            raise UsageError(f"the {what} holds control characters (a newline, tab or escape)")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(f"the {what} is not valid UTF-8: {shown}") from None


def check_unique(items: Sequence[Any], attribute: str, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        key = getattr(item, attribute)
        if key in seen:
            raise UsageError(f"two {what}s are named {key!r}; each {attribute} may appear once")
        seen.add(key)


def snapshot_row(version_id: int, position: int, snap: DataSnapshot) -> dict[str, Any]:
    manifest = None
    if snap.manifest is not None:
        manifest = json.dumps(
            [[e.path, e.size, e.digest] for e in snap.manifest], separators=(",", ":")
        )
    return {
        "version_id": version_id,
        "role": snap.role,
        "position": position,
        "path": snap.path,
        "kind": snap.kind,
        "digest": snap.digest,
        "size": snap.size,
        "file_count": snap.file_count,
        "manifest": manifest,
        "dvc_md5": snap.dvc_md5,
        "dvc_source": snap.dvc_source,
    }


def register_summary(
    draft: VersionDraft,
    flat_params: Mapping[str, Any],
    points: Mapping[str, list[tuple[int, float, float]]],
    parent: str | None,
) -> dict[str, Any]:
    """What the audit trail keeps of a registration: enough to notice later tampering
    with the version's recipe without copying every metric point into the trail."""
    return {
        "params_digest": digest_json(flat_params),
        "params": len(flat_params),
        "metrics": {name: history[-1][1] for name, history in points.items()},
        "data": {s.role: s.digest or s.dvc_md5 for s in draft.data},
        "artifacts": {a.name: a.digest for a in draft.artifacts},
        "commit": draft.code.commit if draft.code else None,
        "dirty": draft.code.dirty if draft.code else None,
        "environment": draft.environment.fingerprint if draft.environment else None,
        "parent": parent,  # as resolved, not as requested
    }


def digest_json(value: Any) -> str:
    return hashlib.sha256(encode_value(value).encode("utf-8")).hexdigest()
