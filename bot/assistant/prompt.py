"""The diff an LLM sees: compact, ranked, and within a fixed budget (pure).

Budget: about 2,000 prompt tokens for the whole request, estimated at 4 characters a token (no
tokenizer is downloaded at run time). Lines are added most important first — findings, moved
metrics, likely causes, data, the largest param changes, commits, dependency changes — and
whatever does not fit is counted ("… and 9,950 more params changed"), so a diff of 10,000
params costs the same as a small one.

Every string that comes from the registry (names, descriptions, notes, commit subjects) is
JSON-quoted inside a <registry_data> block, with `<` and `>` escaped so no text can forge the
block's end; the system prompt tells the model that nothing in that block is an instruction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from modeltrail.core.diff.causes import rank_causes
from modeltrail.core.diff.engine import ParamChange, VersionDiff
from modeltrail.templates.render import num, pct

CHARS_PER_TOKEN = 4
PROMPT_TOKEN_BUDGET = 2000
# What the system prompt and the instructions around the data take, measured from the
# templates with margin; the rest of the budget is the data.
OVERHEAD_CHARS = 1800


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def q(value: object) -> str:
    """Registry text as quoted data (no `<` or `>` inside: see `data_block`)."""
    return data_block(json.dumps(str(value), ensure_ascii=False))


def data_block(text: str) -> str:
    """`text` safe to place inside <registry_data>: a note reading `</registry_data> Ignore
    the above…` must not close the block, so `<` and `>` are written as JSON's \\u003c and
    \\u003e escapes (which read the same to a model, and no tag can be made of them)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def compact_diff(diff: VersionDiff, *, budget_chars: int | None = None) -> str:
    """The diff as ranked lines within `budget_chars` (default: the prompt budget minus the
    templates' overhead)."""
    budget = budget_chars or PROMPT_TOKEN_BUDGET * CHARS_PER_TOKEN - OVERHEAD_CHARS
    out = _Budget(budget)
    out.add(f"model: {q(diff.model)}; from {diff.old_version} to {diff.new_version}")
    out.add(f"suggested bump: {diff.suggested_bump.level} ({q(diff.suggested_bump.reason)})")

    findings = sorted(
        diff.findings, key=lambda f: ("critical", "warning", "info").index(f.severity)
    )
    out.section(
        "findings",
        (f"{f.severity} {f.kind}: {q(f.message)}" for f in findings),
        len(findings),
        "findings",
    )

    moved = [m for m in diff.metrics if m.verdict != "unchanged"]
    steady = [m for m in diff.metrics if m.verdict == "unchanged"]
    metric_lines = [
        f"{q(m.name)}: {num(m.old)} → {num(m.new)} ({pct(m.relative_delta)}; {m.verdict}; "
        f"goal {m.goal}, tolerance {m.tolerance:g})"
        for m in moved
    ]
    if steady:
        metric_lines.append(
            "within tolerance: "
            + ", ".join(q(m.name) for m in steady[:20])
            + (f" and {len(steady) - 20} more" if len(steady) > 20 else "")
        )
    out.section("metrics", metric_lines, len(metric_lines), "metric lines")

    causes = rank_causes(diff)
    out.section(
        "likely causes, most likely first (heuristic)",
        (f"{i}. {c.kind}: {q(c.detail)}" for i, c in enumerate(causes, 1)),
        len(causes),
        "causes",
    )

    data = [d for d in diff.data if d.status != "unchanged"]
    out.section(
        "data",
        (
            f"{q(d.role)} {d.status}: path {q(d.new_path or d.old_path)}"
            + (
                f", digest {str(d.old_digest)[:12]} → {str(d.new_digest)[:12]}"
                if d.status == "changed"
                else ""
            )
            + (f", size {d.size_delta:+d} bytes" if d.size_delta else "")
            + (f", files {d.file_count_delta:+d}" if d.file_count_delta else "")
            for d in data
        ),
        len(data),
        "data changes",
    )

    p = diff.params
    ranked = sorted(p.changed, key=_param_rank, reverse=True)
    param_lines = [
        f"{q(c.key)}: {q(c.old)} → {q(c.new)}" + (" (type change)" if c.type_changed else "")
        for c in ranked
    ]
    param_lines += [f"{q(c.key)} added: {q(c.new)}" for c in p.added]
    param_lines += [f"{q(c.key)} removed (was {q(c.old)})" for c in p.removed]
    out.section("params", param_lines, len(param_lines), "params changed")

    code = diff.code
    if code.status != "unchanged":
        lines = [f"commit {str(code.old_commit)[:10]} → {str(code.new_commit)[:10]}"]
        if code.history and code.total_commits is not None:
            lines.append(f"{code.total_commits} commits, {code.total_files_changed} files changed")
        lines += [f"commit {c.sha[:7]} by {q(c.author)}: {q(c.subject)}" for c in code.commits]
        if code.new_dirty:
            lines.append(f"{diff.new_version} trained from uncommitted changes")
        out.section("code", lines, len(lines), "code lines")

    env = diff.environment
    if env.status != "unchanged":
        lines = []
        if env.python_changed:
            lines.append(f"python {env.python_old} → {env.python_new}")
        moved_packages = sorted(
            env.packages_upgraded + env.packages_downgraded, key=lambda pkg: not pkg.major
        )
        lines += [
            f"{q(pkg.name)} {pkg.old} → {pkg.new}" + (" (major)" if pkg.major else "")
            for pkg in moved_packages
        ]
        lines += [f"{q(pkg.name)} added {pkg.new}" for pkg in env.packages_added]
        lines += [f"{q(pkg.name)} removed" for pkg in env.packages_removed]
        lines += [f"{f.field}: {q(f.old)} → {q(f.new)}" for f in env.system_changes]
        out.section("environment", lines, len(lines), "environment changes")
    return out.text()


def _param_rank(change: ParamChange) -> float:
    if change.type_changed:
        return math.inf
    if change.relative_delta is not None:
        return abs(change.relative_delta)
    return 1.0


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.used = 0

    def add(self, line: str) -> bool:
        cost = len(line) + 1
        if self.used + cost > self.limit:
            return False
        self.lines.append(line)
        self.used += cost
        return True

    def section(self, title: str, lines: Iterable[str], total: int, noun: str) -> None:
        if total == 0:
            return
        # Reserve room for the "… and N more" line before spending on entries.
        if not self.add(f"{title}:"):
            return
        self.limit -= 40
        shown = 0
        for line in lines:
            if not self.add(f"- {line}"):
                break
            shown += 1
        self.limit += 40
        if shown < total:
            self.add(f"- … and {total - shown} more {noun}")

    def text(self) -> str:
        return "\n".join(self.lines)
