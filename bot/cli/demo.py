"""The demo command: a small project trained in five real versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from modeltrail.bot.cli.common import app, load_settings

if TYPE_CHECKING:
    pass


# -- demo ------------------------------------------------------------------------------------


@app.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("modeltrail-demo"),
    show_default=True,
    help="Where to create the demo project.",
)
def demo(directory: Path) -> None:
    """Create a demo project, train and register real versions, and report what changed."""
    from modeltrail.bot.demo import run_demo

    run_demo(directory, settings=load_settings())
