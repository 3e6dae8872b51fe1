"""`modeltrail outbox`: the notifications waiting to be delivered, and retrying dead ones.
Registered on `common.app`."""

from __future__ import annotations

import datetime as dt

import click

from modeltrail.bot.cli.common import app, open_registry, parse_moment, say


@app.group()
def outbox() -> None:
    """Notifications waiting to be delivered (Slack posts, emails)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "claimed", "done", "dead", "skipped"]))
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


@outbox.command("replay")
@click.option(
    "--since",
    required=True,
    metavar="WHEN",
    help="Post again the Slack reports of changes since WHEN (2026-11-20 or 2026-11-20T14:00).",
)
def outbox_replay(since: str) -> None:
    """Post the Slack reports of changes since WHEN: those set aside when the bot first
    started on this registry, and those already posted."""
    from modeltrail.bot.slack.dispatcher import TOPICS
    from modeltrail.core.lifecycle.outbox import Outbox

    moment = parse_moment(since)
    if len(since.strip()) == 10:  # a bare date means from the start of that day
        moment -= dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    registry = open_registry()
    try:
        count = Outbox(registry.engine).replay(
            since=moment, topics=TOPICS, now=dt.datetime.now(dt.UTC)
        )
    finally:
        registry.close()
    say(f"{count} event(s) since {moment:%Y-%m-%d %H:%M} UTC queued; a running serve posts them")
