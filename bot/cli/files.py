"""CLI commands that hand out the files shipped with modeltrail: `files`, `slack manifest`."""

from __future__ import annotations

from pathlib import Path

import click

from modeltrail.bot.cli.common import app, emit, say


@app.command()
@click.argument("name", required=False)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead."
)
def files(name: str | None, out: Path | None) -> None:
    """List the files that ship with modeltrail, or print one (e.g. `.env.example`)."""
    from modeltrail.bot.shipped import SHIPPED, read_shipped

    if name is None:
        width = max(len(n) for n in SHIPPED)
        for shipped, what in SHIPPED.items():
            say(f"{shipped:<{width}}  {what}")
        return
    emit(read_shipped(name), out)
    if out is not None:
        say(f"wrote {out}")


@app.group()
def slack() -> None:
    """Setting up the Slack app."""


@slack.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead."
)
def manifest(out: Path | None) -> None:
    """Print the Slack app manifest: paste it at api.slack.com/apps → From an app manifest."""
    from modeltrail.bot.shipped import read_shipped

    emit(read_shipped("manifest.yml"), out)
    if out is not None:
        say(f"wrote {out}")
