"""Findings and the suggested version bump, computed from the diff sections. Pure."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from modeltrail.core.diff.types import (
    SEVERITIES,
    ArtifactChange,
    BumpSuggestion,
    CodeChange,
    DataChange,
    EnvironmentChange,
    Finding,
    MetricChange,
    ParamsDiff,
)
from modeltrail.core.records import CODE_SUFFIXES, VersionRecord

FINDING_KINDS: tuple[str, ...] = (
    "metric_regression",  # critical: a metric got worse beyond its tolerance
    "silent_data_change",  # warning: same role, same path, new digest that DVC did not record
    "data_change",  # info: data changed through DVC (a new md5 in a `.dvc` file or dvc.lock)
    "dirty_code",  # warning: a side was trained from uncommitted changes
    "missing_lineage",  # critical (new side) / warning (old side only)
    "major_dependency_change",  # warning: a package's major version moved
    "unexplained_metric_change",  # warning: metrics or the model moved, recipe unchanged
    "python_change",  # info: the Python version differs
)

# Tags whose change means the model's inputs or outputs changed shape: a major bump.
SCHEMA_TAGS: tuple[str, ...] = ("schema.input", "schema.output", "input_schema", "output_schema")
BREAKING_TAG = "breaking"
_FALSE_WORDS = ("", "0", "false", "no", "off")


def fmt_number(value: float) -> str:
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"


def _fmt_move(change: MetricChange) -> str:
    assert change.old is not None and change.new is not None and change.delta is not None
    if change.relative_delta is not None:
        amount = f"{change.relative_delta * 100:+.1f}%"
    else:
        amount = f"{change.delta:+.6g}"
    return f"{fmt_number(change.old)} → {fmt_number(change.new)} ({amount})"


def _regressions(metrics: Sequence[MetricChange]) -> list[Finding]:
    findings = []
    for m in metrics:
        if m.verdict != "regressed":
            continue
        verb = "rose" if (m.delta or 0) > 0 else "fell"
        findings.append(
            Finding(
                "metric_regression",
                "critical",
                f"{m.name} {verb} {_fmt_move(m)}, beyond tolerance {fmt_number(m.tolerance)}",
            )
        )
    return findings


def _is_silent(d: DataChange) -> bool:
    """Same path, new contents that nobody recorded: our sha256 moved on both sides while
    DVC's md5 did not (a file edited without `dvc add`) or is not recorded on both."""
    if d.status != "changed" or d.old_path != d.new_path or d.via_dvc:
        return False
    sha = [x for x in (d.old_digest, d.new_digest) if x and not x.startswith("md5:")]
    return len(sha) == 2 and sha[0] != sha[1]


def _dvc_data_changes(data: Sequence[DataChange]) -> list[Finding]:
    findings = []
    for d in data:
        if d.status != "changed" or not d.via_dvc:
            continue
        assert d.old_dvc_md5 is not None and d.new_dvc_md5 is not None
        where = f"{d.dvc_source}" if d.dvc_source else "DVC"
        when = f", committed in {d.dvc_commit[:7]}" if d.dvc_commit else ", not committed"
        findings.append(
            Finding(
                "data_change",
                "info",
                f"data '{d.role}' changed through DVC: md5 {d.old_dvc_md5[:12]} → "
                f"{d.new_dvc_md5[:12]} ({where}{when})",
            )
        )
    return findings


def _silent_data_changes(data: Sequence[DataChange]) -> list[Finding]:
    findings = []
    for d in data:
        if not _is_silent(d):
            continue
        assert d.old_digest is not None and d.new_digest is not None
        details = []
        if d.manifest_compared:
            for label, count in (
                ("added", d.files_added_count),
                ("removed", d.files_removed_count),
                ("modified", d.files_modified_count),
            ):
                if count:
                    details.append(f"{count} file{'s' if count != 1 else ''} {label}")
        if d.size_delta:
            details.append(f"size {d.size_delta:+,} bytes")
        detail = f"; {', '.join(details)}" if details else ""
        stale = (
            f"; {d.dvc_source} still records md5 {d.new_dvc_md5[:12]} (edited without `dvc add`?)"
            if d.new_dvc_md5 and d.new_dvc_md5 == d.old_dvc_md5 and d.dvc_source
            else ""
        )
        findings.append(
            Finding(
                "silent_data_change",
                "warning",
                f"data '{d.role}' at {d.new_path} has new contents under the same path "
                f"(digest {d.old_digest[:12]} → {d.new_digest[:12]}{detail}){stale}",
            )
        )
    return findings


def _dirty(record: VersionRecord) -> Finding | None:
    code = record.code
    if code is None or not code.dirty:
        return None
    files = code.dirty_files
    shown = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
    detail = f" ({len(files)} file{'s' if len(files) != 1 else ''}: {shown})" if files else ""
    return Finding(
        "dirty_code",
        "warning",
        f"{record.version} was trained from uncommitted changes{detail}",
    )


def missing_lineage(record: VersionRecord) -> list[str]:
    """The lineage pieces a version lacks: data digests, a git commit, an environment."""
    missing = []
    if not record.data:
        missing.append("no data recorded")
    else:
        roles = sorted({s.role for s in record.data if not (s.digest or s.dvc_md5)})
        if roles:
            missing.append("no data digest for " + ", ".join(f"'{r}'" for r in roles))
    if record.code is None or not record.code.commit:
        missing.append("no git commit")
    if record.environment is None:
        missing.append("no environment")
    return missing


def _lineage(old: VersionRecord, new: VersionRecord) -> list[Finding]:
    findings = []
    new_missing = missing_lineage(new)
    old_only = [piece for piece in missing_lineage(old) if piece not in new_missing]
    if new_missing:
        findings.append(
            Finding(
                "missing_lineage",
                "critical",
                f"{new.version} cannot be reproduced: {'; '.join(new_missing)}",
            )
        )
    if old_only:
        findings.append(
            Finding(
                "missing_lineage",
                "warning",
                f"{old.version} (the version compared against) has {'; '.join(old_only)}",
            )
        )
    return findings


def _environment(env: EnvironmentChange) -> list[Finding]:
    findings = []
    if env.python_old and env.python_new and env.python_changed:
        findings.append(
            Finding("python_change", "info", f"Python {env.python_old} → {env.python_new}")
        )
    for p in env.major_changes:
        direction = "upgrade" if p in env.packages_upgraded else "downgrade"
        findings.append(
            Finding(
                "major_dependency_change",
                "warning",
                f"{p.name} {p.old} → {p.new} (major version {direction})",
            )
        )
    return findings


def _unexplained(
    params: ParamsDiff,
    metrics: Sequence[MetricChange],
    data: Sequence[DataChange],
    code: CodeChange,
    env: EnvironmentChange,
    artifacts: Sequence[ArtifactChange] = (),
) -> list[Finding]:
    """Results moved while the recipe did not: metrics beyond tolerance, or (even within it)
    a model artifact with a new digest. Either way the run is not reproducible as recorded."""
    moved = [m for m in metrics if m.moved]
    rebuilt = [a for a in artifacts if a.status == "changed" and a.old_digest and a.new_digest]
    if not (moved or rebuilt) or params.has_changes or code.status != "unchanged":
        return []
    if env.status != "unchanged" or any(d.status != "unchanged" for d in data):
        return []
    parts = []
    if moved:
        listed = ", ".join(f"{m.name} {_fmt_move(m)}" for m in moved[:3])
        more = f" and {len(moved) - 3} more" if len(moved) > 3 else ""
        parts.append(f"{listed}{more} beyond tolerance")
    if rebuilt:
        a = rebuilt[0]
        assert a.old_digest is not None and a.new_digest is not None
        parts.append(
            f"artifact {a.name} has a new digest ({a.old_digest[:12]} → {a.new_digest[:12]})"
            + ("" if moved else " with metrics within tolerance")
        )
    return [
        Finding(
            "unexplained_metric_change",
            "warning",
            f"{'; '.join(parts)} while params, data, code and environment are unchanged: "
            "training is nondeterministic — set a seed and record it as a param",
        )
    ]


def find(
    old: VersionRecord,
    new: VersionRecord,
    params: ParamsDiff,
    metrics: Sequence[MetricChange],
    data: Sequence[DataChange],
    code: CodeChange,
    env: EnvironmentChange,
    artifacts: Sequence[ArtifactChange] = (),
) -> tuple[Finding, ...]:
    """Every finding, most severe first (stable within a severity)."""
    findings: list[Finding] = []
    findings += _regressions(metrics)
    findings += _silent_data_changes(data)
    findings += _dvc_data_changes(data)
    findings += [f for f in (_dirty(old), _dirty(new)) if f is not None]
    findings += _lineage(old, new)
    findings += _environment(env)
    findings += _unexplained(params, metrics, data, code, env, artifacts)
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    return tuple(findings)


def _is_set(tags: Mapping[str, str], name: str) -> bool:
    value = tags.get(name)
    return value is not None and value.strip().lower() not in _FALSE_WORDS


def suggest_bump(
    old: VersionRecord,
    new: VersionRecord,
    params: ParamsDiff,
    data: Sequence[DataChange],
    code: CodeChange,
    env: EnvironmentChange,
) -> BumpSuggestion:
    """major: a schema tag changed (set on both sides, different values) or the new version is
    tagged `breaking`; minor: params changed or code did (a new commit); patch: anything
    else, saying what changed (data, environment, the working tree at the same commit)."""
    schema = [
        f"{tag} changed ({old.tags[tag]} → {new.tags[tag]})"
        for tag in SCHEMA_TAGS
        if tag in old.tags and tag in new.tags and old.tags[tag] != new.tags[tag]
    ]
    if _is_set(new.tags, BREAKING_TAG):
        value = new.tags[BREAKING_TAG].strip()
        flagged = "flagged as a breaking change"
        if value.lower() not in ("1", "true", "yes", "on"):
            flagged += f": {value}"
        schema.append(flagged)
    if schema:
        return BumpSuggestion("major", "; ".join(schema))
    recipe = []
    if params.has_changes:
        counts = [
            f"{len(group)} {label}"
            for label, group in (
                ("changed", params.changed),
                ("added", params.added),
                ("removed", params.removed),
            )
            if group
        ]
        recipe.append(f"params changed ({', '.join(counts)})")
    # Only a new commit is a code change; the same commit with other uncommitted or untracked
    # files is the working tree, which may be data or scratch files as much as code.
    tree_only = code.status == "changed" and not code.commit_changed
    if code.status != "unchanged" and not tree_only:
        if code.old_commit and code.new_commit and code.commit_changed:
            recipe.append(f"code changed ({code.old_commit[:7]} → {code.new_commit[:7]})")
        else:
            recipe.append("code changed")
    if tree_only:
        files = sorted(set(code.old_dirty_files) | set(code.new_dirty_files))
        shown = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
        tree = f"working tree changed (uncommitted: {shown})" if files else "working tree changed"
        if any(posixpath.splitext(f)[1].lower() in CODE_SUFFIXES for f in files):
            recipe.append(tree)  # an uncommitted source file is new code: minor
            tree_only = False
    if recipe:
        return BumpSuggestion("minor", "; ".join(recipe))
    changed = [
        label
        for label, moved in (
            ("data", any(d.status != "unchanged" for d in data)),
            ("environment", env.status != "unchanged"),
            ("working tree", tree_only),  # untracked or uncommitted files, none of them code
        )
        if moved
    ]
    if not changed:
        return BumpSuggestion("patch", "no recipe change")
    if changed == ["data"]:
        roles = sorted({d.role for d in data if d.status != "unchanged"})
        return BumpSuggestion("patch", f"data changed: {', '.join(roles)}")
    if len(changed) == 1:
        return BumpSuggestion("patch", f"{changed[0]} changed")
    return BumpSuggestion("patch", f"{', '.join(changed[:-1])} and {changed[-1]} changed")
