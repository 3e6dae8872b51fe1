"""`modeltrail outbox`: the notifications waiting to be delivered, and retrying dead ones.
Registered on `common.app`."""

from __future__ import annotations

import datetime as dt

import click

from modeltrail.bot.cli.common import app, open_registry, say


@app.group()
def outbox() -> None:
    """Notifications waiting to be delivered (Slack posts, emails)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "claimed", "done", "dead"]))
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(min=1))
def outbox_list(status: str | None, limit: int) -> None:
    """Show outbox events, newest first, with their delivery state."""
    from modeltrail.core.lifecycle.outbox import Outbox

    registry = open_registry()
    try:
        box = Outbox(registry.engine)
        counts = box.counts()
        events = box.events(status=status, limit=limit)
    finally:
        registry.close()
    lines = ["counts: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty")]
    for e in events:
        lines.append(
            f"  #{e.id} {e.status:8} {e.topic} {e.model or ''} {e.version or ''}"
            f" attempts {e.attempts}" + (f" — {e.last_error}" if e.last_error else "")
        )
    say("\n".join(lines))


@outbox.command("retry")
def outbox_retry() -> None:
    """Give dead events (failed too many times) another round of attempts."""
    from modeltrail.core.lifecycle.outbox import Outbox

    registry = open_registry()
    try:
        count = Outbox(registry.engine).retry_dead(now=dt.datetime.now(dt.UTC))
    finally:
        registry.close()
    say(f"{count} event(s) queued again")
