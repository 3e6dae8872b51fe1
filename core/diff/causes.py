"""Which recipe changes most likely explain a diff's metric movements (pure, ranked).

A heuristic, stated plainly so a reader can argue with it: data changes explain metric
movements most often (a new digest under the same path first of all, since nobody announced
it), then hyperparameters, then code, then the environment (a major dependency bump ranks
with code). The more a part changed, the higher it ranks within its weight. When metrics
moved and nothing in the recipe changed, the cause is nondeterminism or an unrecorded input.
"""

from __future__ import annotations

from dataclasses import dataclass

from modeltrail.core.diff.engine import VersionDiff


@dataclass(frozen=True)
class Cause:
    kind: str  # "data" | "params" | "code" | "environment" | "nondeterminism"
    weight: float
    detail: str  # one short plain-text phrase, e.g. "train data changed (digest a1b2 → c3d4)"


def rank_causes(diff: VersionDiff) -> list[Cause]:
    causes: list[Cause] = []
    data = [d for d in diff.data if d.status != "unchanged"]
    if data:
        silent = [d for d in data if d.status == "changed" and not d.path_changed]
        weight = 4.0 + 0.5 * len(silent) + 0.1 * len(data)
        roles = ", ".join(d.role for d in data)
        causes.append(Cause("data", weight, f"data changed: {roles}"))
    p = diff.params
    changed = len(p.changed) + len(p.added) + len(p.removed)
    if changed:
        named = ", ".join(
            f"{c.key} {_short_value(c.old)} → {_short_value(c.new)}" for c in p.changed[:3]
        )
        detail = f"{changed} param{'s' if changed != 1 else ''} changed"
        if named:
            detail += f" ({named}{', …' if changed > 3 else ''})"
        causes.append(Cause("params", 3.0 + min(changed, 20) * 0.05, detail))
    code = diff.code
    if code.status == "changed":
        if code.history and code.total_commits:
            detail = f"{code.total_commits} commit{'s' if code.total_commits != 1 else ''}"
            if code.commits:
                detail += f" (latest: {code.commits[0].subject[:80]})"
        elif code.commit_changed:
            detail = f"code {str(code.old_commit)[:7]} → {str(code.new_commit)[:7]}"
        elif code.new_dirty:
            detail = "different uncommitted code changes"
        else:  # a clean version's code is its commit, whatever its parent had uncommitted
            detail = f"committed code {str(code.new_commit)[:7]} ({diff.old_version} was dirty)"
        causes.append(Cause("code", 2.5 + min(code.total_commits or 1, 10) * 0.05, detail))
    env = diff.environment
    if env.status != "unchanged":
        majors = env.major_changes
        moved = env.packages_upgraded + env.packages_downgraded
        parts = [f"{m.name} {m.old} → {m.new}" for m in (majors or moved)[:3]]
        if env.python_changed and env.python_old and env.python_new:
            parts.insert(0, f"python {env.python_old} → {env.python_new}")
        detail = "environment changed" + (f" ({', '.join(parts)})" if parts else "")
        weight = 2.5 if majors or env.python_changed else 1.0 + min(len(moved), 10) * 0.05
        causes.append(Cause("environment", weight, detail))
    moved_metrics = [m for m in diff.metrics if m.moved]
    rebuilt = [a for a in diff.artifacts if a.status == "changed"]
    if (moved_metrics or rebuilt) and not causes:
        causes.append(
            Cause(
                "nondeterminism",
                1.0,
                "nothing in the recorded recipe changed: nondeterminism (seeds, data order, "
                "hardware) or an input that is not recorded; set a seed and record it",
            )
        )
    return sorted(causes, key=lambda c: c.weight, reverse=True)


def _short_value(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "…"
