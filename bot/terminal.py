"""Terminal views of registry values (rich tables), for the CLI's list and show."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from modeltrail.core.records import MetricSpec, ModelSummary, VersionRecord, VersionSummary

STAGE_STYLE = {"production": "bold green", "staging": "yellow", "archived": "dim", "none": ""}


def when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"


def short(digest: str | None, length: int = 12) -> str:
    return digest[:length] if digest else "—"


def value_text(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value)


def models_table(models: Sequence[ModelSummary]) -> Table:
    table = Table(title="Models", title_justify="left", header_style="bold")
    table.add_column("model")
    table.add_column("latest")
    table.add_column("versions", justify="right")
    table.add_column("production")
    table.add_column("updated")
    for m in models:
        table.add_row(
            escape(m.name),
            m.latest_version or "—",
            str(m.version_count),
            m.production_version or "—",
            when(m.updated_at),
        )
    return table


def versions_table(model: str, versions: Sequence[VersionSummary], total: int) -> Table:
    shown = len(versions)
    title = f"{model}: {total} version{'s' if total != 1 else ''}"
    if shown < total:
        title += f" (newest {shown}; --limit 0 shows all)"
    table = Table(title=escape(title), title_justify="left", header_style="bold")
    table.add_column("version")
    table.add_column("stage")
    table.add_column("registered")
    table.add_column("by")
    table.add_column("description")
    for v in versions:
        table.add_row(
            v.version,
            Text(v.stage if v.stage != "none" else "—", style=STAGE_STYLE.get(v.stage, "")),
            when(v.created_at),
            escape(v.actor),
            escape(v.description or ""),
        )
    return table


def record_view(record: VersionRecord) -> Group:
    parts: list[Any] = []
    header = Text()
    header.append(f"{record.model} {record.version}", style="bold")
    if record.stage != "none":
        header.append(f"  [{record.stage}]", style=STAGE_STYLE.get(record.stage, ""))
    if record.golden:
        header.append("  [golden]", style="bold yellow")
    parts.append(header)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("registered", f"{when(record.created_at)} by {escape(record.actor)}")
    facts.add_row("parent", record.parent or "— (first in its line)")
    if record.golden:
        facts.add_row("golden", "yes: the model's stable baseline")
    if record.description:
        facts.add_row("description", escape(record.description))
    if record.tags:
        facts.add_row("tags", escape(", ".join(f"{k}={v}" for k, v in record.tags.items())))
    parts.append(facts)

    parts.append(_section("Metrics"))
    if record.metrics:
        table = Table(header_style="bold", box=None, pad_edge=False)
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("goal")
        table.add_column("tolerance")
        table.add_column("points", justify="right")
        for name, metric in record.metrics.items():
            spec = record.metric_specs.get(name)
            table.add_row(
                escape(name),
                f"{metric.value:.6g}",
                goal_text(spec),
                tolerance_text(spec),
                str(metric.history_count),
            )
        parts.append(table)
    else:
        parts.append(Text("none recorded", style="dim"))

    parts.append(_section(f"Params ({len(record.params)})"))
    if record.params:
        # Pre-formatted lines, not a Table: measuring 200 rows costs rich ~50 ms, a quarter
        # of the `show` budget.
        width = min(max(len(k) for k in record.params), 40)
        lines = Text()
        for key, value in record.params.items():
            lines.append(f"{key:<{width}}", style="cyan")
            lines.append(f"  {value_text(value)}\n")
        lines.rstrip()
        parts.append(lines)
    else:
        parts.append(Text("none recorded", style="dim"))

    parts.append(_section("Data"))
    if record.data:
        table = Table(header_style="bold", box=None, pad_edge=False)
        for column in ("role", "path", "kind", "sha256", "size", "files", "dvc md5"):
            table.add_column(column)
        for s in record.data:
            table.add_row(
                escape(s.role),
                escape(s.path),
                s.kind,
                short(s.digest),
                human_size(s.size),
                "—" if s.file_count is None else str(s.file_count),
                short(s.dvc_md5, 16) if s.dvc_md5 else "",
            )
        parts.append(table)
    else:
        parts.append(Text("none recorded (no data lineage)", style="yellow"))

    parts.append(_section("Code"))
    code = record.code
    if code is None:
        parts.append(Text("not recorded (not trained inside a git repository)", style="yellow"))
    else:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column()
        grid.add_row("commit", code.commit)
        grid.add_row("branch", escape(code.branch or "(detached HEAD)"))
        if code.remote_url:
            grid.add_row("remote", escape(code.remote_url))
        grid.add_row("repository", escape(code.repo_root))
        if code.dirty:
            files = ", ".join(code.dirty_files[:10])
            more = f" and {len(code.dirty_files) - 10} more" if len(code.dirty_files) > 10 else ""
            grid.add_row(
                Text("dirty", style="yellow"),
                Text(f"uncommitted changes in {files}{more} (diff {short(code.diff_digest)})"),
            )
        else:
            grid.add_row("dirty", "no")
        parts.append(grid)

    parts.append(_section("Environment"))
    env = record.environment
    if env is None:
        parts.append(Text("not recorded", style="yellow"))
    else:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column()
        grid.add_row("python", f"{env.python_version} ({env.python_implementation})")
        grid.add_row("platform", escape(env.platform))
        cpu = env.cpu_model or env.machine
        grid.add_row("cpu", escape(f"{cpu} × {env.cpu_count or '?'}"))
        grid.add_row("gpus", escape(", ".join(env.gpus)) if env.gpus else "none visible")
        grid.add_row(
            "packages", f"{len(env.packages)} installed (fingerprint {short(env.fingerprint)})"
        )
        parts.append(grid)

    parts.append(_section("Artifacts"))
    if record.artifacts:
        table = Table(header_style="bold", box=None, pad_edge=False)
        for column in ("name", "uri", "sha256", "size", "bytes"):
            table.add_column(column)
        for a in record.artifacts:
            kept = "stored" if a.stored else "referenced, not stored"
            table.add_row(escape(a.name), escape(a.uri), short(a.digest), human_size(a.size), kept)
        parts.append(table)
    else:
        parts.append(Text("none recorded", style="dim"))

    if record.notes:
        parts.append(_section("Notes"))
        for note in record.notes:
            parts.append(Text(f"{when(note.created_at)} {note.actor}: {note.text}"))
    return Group(*parts)


def goal_text(spec: MetricSpec | None) -> str:
    """`maximize`, `minimize (by name)`, `informational (by name)`."""
    if spec is None:
        return ""
    goal = "informational" if spec.informational else spec.goal
    return f"{goal} (by name)" if spec.origin == "name" else goal


def tolerance_text(spec: MetricSpec | None) -> str:
    """`±0.1% of the value`, or `±0.002 (at least 0.1%)` when a tolerance is set."""
    if spec is None:
        return ""
    relative = f"{spec.relative_tolerance * 100:g}%"
    if spec.tolerance:
        return f"±{spec.tolerance:g} (at least {relative})"
    return f"±{relative} of the value"


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


_HIGHLIGHTS = (
    (r"\bregressed\b|\bCRITICAL\b", "bold red"),
    (r"\bimproved\b", "green"),
    (r"\bWARNING\b|\(major\)", "yellow"),
    (r"^(Findings|Metrics|Params.*|Data|Code|Environment|Artifacts)$", "bold"),
)


def colourise(text: str) -> Text:
    """Colour a rendered plain-text report for a terminal; the words stay the same."""
    styled = Text(text)
    for pattern, style in _HIGHLIGHTS:
        styled.highlight_regex(re.compile(pattern, re.MULTILINE), style)
    return styled
