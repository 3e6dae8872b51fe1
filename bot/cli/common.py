"""What every `modeltrail` command shares: the click group, the global options, and the helpers
that open the settings and the registry and print. Command modules import this module only.

The group imports a command's module only when that command runs (the table in `catalogue`),
and heavy modules (git, the Slack SDK, openai, matplotlib) are imported inside the commands that
need them, so `modeltrail --help` and `modeltrail show` start fast. Click rather than typer:
typer 0.29 imports pydantic on start-up (~0.1 s), a quarter of the `show` budget.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.catalogue import LazyGroup

if TYPE_CHECKING:
    from modeltrail.core.config import Settings
    from modeltrail.core.registry.writer import Registry


class _State:
    # a plain class: `--help` would import dataclasses for this alone
    def __init__(self) -> None:
        self.db: str | None = None
        self.debug = False


STATE = _State()


@click.group(
    cls=LazyGroup,
    name="modeltrail",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    metavar="URL",
    help="Registry database URL (default: MODELTRAIL_DATABASE_URL, "
    "else sqlite:///.modeltrail/registry.db).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
# the installed distribution's version, read only when asked
@click.version_option(package_name="modeltrail", message="%(prog)s %(version)s")
def app(db: str | None, debug: bool) -> None:
    """A permanent, explainable record of every model version, and what changed."""
    STATE.db = db
    STATE.debug = debug


def load_settings() -> Settings:
    from modeltrail.core.config import Settings

    return Settings.load().with_overrides(database_url=STATE.db)


def open_registry() -> Registry:
    from modeltrail.core.registry.writer import Registry

    return Registry.open(settings=load_settings())


def open_reader() -> Any:
    """For reads: the stdlib SQLite reader when it can serve (fast start), else the Registry."""
    from modeltrail.core.store.sqlite_reader import SqliteReader

    return SqliteReader.open(load_settings()) or open_registry()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def emit(text: str, out: Path | None, *, colour: bool = False) -> None:
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            from modeltrail.core.errors import UsageError

            raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
        return
    if colour and sys.stdout.isatty():
        from modeltrail.bot.terminal import colourise, console

        # soft_wrap: long lines are left to the terminal to wrap, never broken by rich
        console().print(colourise(text), end="", soft_wrap=True)
        return
    sys.stdout.write(text)


def actor_for(explicit: str | None) -> str:
    from modeltrail.core.capture.actor import resolve_actor

    return resolve_actor(explicit, configured=load_settings().actor)


def say(text: str) -> None:
    # Plain text as it is: rich (no markup, no highlighting, soft wrap) would print the same
    # characters, at the cost of importing it.
    sys.stdout.write(text + "\n")


def when(moment: dt.datetime) -> str:
    """A time as the CLI prints it: `2026-11-20 14:00 UTC` (as bot.terminal's views print it;
    this copy spares the plain-text commands importing rich)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_moment(text: str) -> dt.datetime:
    """`2026-11-20`, `2026-11-20 14:00`, `2026-11-20T14:00:00+01:00`; naive means UTC."""
    from modeltrail.core.errors import UsageError

    try:
        moment = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date or time", hint="use e.g. 2026-11-20 or 2026-11-20T14:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    from modeltrail.core.timestamps import check_moment

    check_moment(moment, "the time")
    if len(text.strip()) == 10:  # a bare date means the end of that day
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return moment


def limit_option(what: str) -> Callable[[Any], Any]:
    """`--limit/-n`, the same on every listing: newest first, 50 by default, 0 for all."""
    return click.option(
        "--limit",
        "-n",
        default=50,
        show_default=True,
        type=click.IntRange(min=0),
        help=f"{what} to show, newest first (0: all).",
    )
