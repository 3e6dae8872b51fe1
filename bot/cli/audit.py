"""The audit trail's commands: verify the hash chain, read the log. Registered on
`common.app`."""

from __future__ import annotations

import sys
from typing import Any

import click

from modeltrail.bot.cli.common import app, limit_option, open_registry, print_json, say, when


@app.group()
def audit() -> None:
    """The append-only, hash-chained audit trail."""


@audit.command("verify")
@click.option(
    "--expect",
    "expect",
    metavar="SEQ:HASH",
    help="An anchored head (from `audit head`, kept outside the database): fail unless the "
    "chain still extends it.",
)
@click.option("--json", "as_json", is_flag=True)
def audit_verify(expect: str | None, as_json: bool) -> None:
    """Check the hash chain, every version's content and every stage against the events;
    exit 1 naming the first fault (edited, deleted, inserted or reordered event; a version,
    stage or golden pointer the events do not produce; a head that no longer extends
    --expect)."""
    from modeltrail.core.lifecycle import audit as chain

    anchored = None
    if expect is not None:
        try:
            anchored = chain.parse_head(expect)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    registry = open_registry()
    try:
        result = registry.verify_audit(expect=anchored)
    finally:
        registry.close()
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "events_checked": result.events_checked,
                "problem": result.problem,
                "bad_seq": result.bad_seq,
                "differences": [
                    {"model": d.model, "version": d.version, "field": d.field, "message": d.message}
                    for d in result.differences
                ],
                "notes": list(result.notes),
                "head": chain.format_head(result.head),
                "keyed_events": result.keyed_events,
            }
        )
        if not result.ok:
            raise SystemExit(1)
        return
    for note in result.notes:
        sys.stderr.write(f"warning: {note}\n")
    if result.ok:
        say(f"{result.events_checked} events verified; head {chain.format_head(result.head)}")
        return
    sys.stderr.write(f"error: audit trail broken: {result.problem}\n")
    for difference in result.differences[1:20]:
        sys.stderr.write(f"  also: {difference}\n")
    if len(result.differences) > 20:
        sys.stderr.write(f"  … and {len(result.differences) - 20} more differences\n")
    raise SystemExit(1)


@audit.command("head")
def audit_head() -> None:
    """Print the chain head as SEQ:HASH; keep a copy outside the database and check it later
    with `audit verify --expect SEQ:HASH`."""
    from modeltrail.core.lifecycle.audit import format_head

    registry = open_registry()
    try:
        head = registry.audit_head()
    finally:
        registry.close()
    say(format_head(head))


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
