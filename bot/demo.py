"""`modeltrail demo`: build a small project, train real versions of a model, show the record.

The demo is a sequence of small steps (`demo_steps.STEPS`), each printing a heading. Every
version is a real `python train.py` run in a real git repository (`demo_workspace`),
registered through `track()`, so what the registry shows is exactly what the tool records for
any user. The project's files and data come from `demo_project/`. This module prepares the
directory and the registry, runs the steps, and says what to explore next.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from modeltrail.bot.demo_steps import STEPS
from modeltrail.bot.demo_workspace import MODEL, Demo, DemoError
from modeltrail.core.config import Settings

MARKER = ".modeltrail-demo"


def run_demo(directory: Path, settings: Settings) -> None:
    """Create the demo project in `directory` and register its versions.

    `directory` must be new, empty or a previous demo (which is replaced). The registry is
    SQLite inside the project unless `settings.database_url` names another one.
    """
    started = time.perf_counter()
    console = _console()
    if shutil.which("git") is None:
        raise DemoError(
            "the demo needs git, which is not on PATH",
            hint="install git (https://git-scm.com) and run `modeltrail demo` again",
        )
    directory = directory.expanduser().absolute()
    database_url, default_database = _database_url(settings, directory)
    if not default_database:
        _check_registry(database_url)  # before anything in `directory` is replaced
    _prepare_directory(directory)
    if default_database:
        (directory / ".modeltrail").mkdir()
    demo = Demo(directory, database_url, default_database, console)

    console.print(f"[bold]modeltrail demo[/] in {escape(str(directory))}", soft_wrap=True)
    for number, (title, step) in enumerate(STEPS, start=1):
        console.print()
        console.rule(f"[bold]{number}. {escape(title)}", align="left")
        step(demo)
    _closing_hint(demo, time.perf_counter() - started)


# -- setting up and finishing ------------------------------------------------------------------


def _prepare_directory(directory: Path) -> None:
    """Make `directory` an empty directory marked as ours, or refuse."""
    if directory.exists() and not directory.is_dir():
        raise DemoError(
            f"{directory} exists and is not a directory",
            hint="pass --dir with a new or empty directory",
        )
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise DemoError(
                f"{directory} is not empty and is not a previous modeltrail demo",
                hint="pass --dir with a new or empty directory; "
                "a previous demo's directory is replaced",
            )
        for child in directory.iterdir():  # keep the directory itself: it may be the cwd
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "Made by `modeltrail demo`, which replaces this directory when run here again.\n",
        encoding="utf-8",
    )


def _database_url(settings: Settings, directory: Path) -> tuple[str, bool]:
    """The demo's registry: the configured one, else SQLite inside the project."""
    if not settings.database_url:
        return f"sqlite:///{directory / '.modeltrail' / 'registry.db'}", True
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return settings.database_url, False  # Registry.open reports it
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise DemoError(
                "the demo needs a registry file that its training runs can share, "
                f"not {settings.database_url!r}",
                hint="use --db sqlite:///path/to/registry.db, or leave --db out",
            )
        # train.py runs inside the project: a relative path must not move with it.
        absolute = url.set(database=str(Path(database).expanduser().absolute()))
        return absolute.render_as_string(hide_password=False), False
    return settings.database_url, False


def _check_registry(database_url: str) -> None:
    """Refuse to mix the demo's versions into a configured registry that has the model
    already; this also creates the schema, so a bad URL fails before anything is done."""
    from modeltrail.core.registry.writer import Registry

    with Registry.open(database_url) as registry:
        if any(m.name == MODEL for m in registry.list_models()):
            raise DemoError(
                f"the configured registry already has a model named {MODEL!r}; "
                "the demo will not add versions to it",
                hint="run the demo without --db / MODELTRAIL_DATABASE_URL, "
                "or point them at a new database",
            )


def _closing_hint(demo: Demo, seconds: float) -> None:
    console = demo.console
    console.print()
    console.rule("[bold]Next", align="left")
    console.print(
        f"Registered {len(demo.versions)} versions of {MODEL} "
        f"({', '.join(demo.versions)}) in {seconds:.1f} s. Explore them:"
    )
    commands = [f"cd {demo.directory}"]
    if demo.default_database:
        commands += [
            f"modeltrail list {MODEL}",
            f"modeltrail show {MODEL} {demo.versions[-2]}",
            "git log --stat",
            'python train.py -m "my change"    # registers the next version',
        ]
    else:
        db = f"modeltrail --db {_redact(demo.database_url)}"
        commands += [f"{db} list {MODEL}", f"{db} show {MODEL} {demo.versions[-2]}"]
        commands.append("git log --stat")
    for command in commands:  # never wrapped, so they can be copied
        console.print(f"  {escape(command)}", soft_wrap=True)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _console() -> Console:
    from modeltrail.bot.terminal import console

    return console()
