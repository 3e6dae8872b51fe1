"""The audit trail's commands: verify the hash chain, read the log. Registered on
`common.app`."""

from __future__ import annotations

import sys
from typing import Any

import click

from modeltrail.bot.cli.common import app, limit_option, open_registry, print_json, say


@app.group()
def audit() -> None:
    """The append-only, hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first edited, deleted, inserted or reordered
    event."""
    registry = open_registry()
    try:
        result = registry.verify_audit()
    finally:
        registry.close()
    if result.ok:
        say(f"{result.events_checked} events verified")
        return
    sys.stderr.write(f"error: audit trail broken: {result.problem}\n")
    raise SystemExit(1)


@audit.command("log")
@click.argument("model", required=False)
@limit_option("Events")
@click.option("--json", "as_json", is_flag=True)
def audit_log(model: str | None, limit: int, as_json: bool) -> None:
    """Who did what, when and why, newest first."""
    from modeltrail.core.serialize import audit_event_to_dict

    registry = open_registry()
    try:
        events = registry.audit_log(model, limit=limit or None)
    finally:
        registry.close()
    if as_json:
        print_json([audit_event_to_dict(e) for e in events])
        return
    from modeltrail.bot.terminal import when

    lines = []
    for e in events:
        target = " ".join(x for x in (e.model, e.version) if x)
        change = _change_text(e.before, e.after)
        lines.append(
            f"#{e.seq:<5} {when(e.created_at)}  {e.actor}  {e.action} {target}"
            + (f"  {change}" if change else "")
            + (f"  — {e.reason}" if e.reason else "")
        )
    say("\n".join(lines) if lines else "no audit events")


def _change_text(before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict) and "stage" in after:
        return f"{before.get('stage')} → {after['stage']}" + (
            " (forced)" if after.get("forced") else ""
        )
    if isinstance(after, dict) and "golden" in after:
        return f"golden {before.get('golden') if before else None} → {after['golden']}"
    return ""
