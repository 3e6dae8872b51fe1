"""The command table the CLI starts from (bot/cli/catalogue.py) matches the real commands: the
same names, each in the module the table names, with the same one-line help at every width,
and `modeltrail --help` lists them as it would with every command module imported."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click
import pytest

import modeltrail.bot.cli as cli_package
from modeltrail.bot.cli.catalogue import COMMANDS
from modeltrail.bot.cli.common import app

# `python -c`, not the console script: the same interpreter and installation as the tests
ENTRY = [sys.executable, "-c", "from modeltrail.bot.cli.main import entry; entry()"]


def _all_commands() -> dict[str, click.Command]:
    """Every command, found by importing every module of the CLI package (not by the table)."""
    for module in pkgutil.iter_modules(cli_package.__path__):
        if module.name != "__main__":
            importlib.import_module(f"{cli_package.__name__}.{module.name}")
    return dict(app.commands)


def test_the_table_names_every_command_and_nothing_else() -> None:
    assert sorted(COMMANDS) == sorted(_all_commands())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_entry_names_the_commands_module_and_its_help(name: str) -> None:
    command = _all_commands()[name]
    module, short_help = COMMANDS[name]
    callback_module = command.callback.__module__ if command.callback else None
    assert callback_module == f"{cli_package.__name__}.{module}"
    stand_in = click.Command(name, help=short_help)
    assert not command.hidden and not command.deprecated
    # click shortens a command's help to the width left beside the longest name
    for limit in range(1, 200):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), limit


EVERY_MODULE = (
    "import importlib, pkgutil\nimport modeltrail.bot.cli as p\n"
    "for m in pkgutil.iter_modules(p.__path__):\n"
    "    m.name != '__main__' and importlib.import_module(p.__name__ + '.' + m.name)\n"
)


def _run(*args: str, columns: str, preload: bool = False) -> subprocess.CompletedProcess[str]:
    code = (EVERY_MODULE if preload else "") + ENTRY[2]
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": columns}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("columns", ["60", "80", "200"])
def test_help_from_the_table_is_the_help_of_the_real_commands(columns: str) -> None:
    """A fresh process lists the commands from the table; with every command module imported
    first, click lists the real commands: the two must be the same, byte for byte."""
    lazy = _run("--help", columns=columns)
    loaded = _run("--help", columns=columns, preload=True)
    assert lazy.returncode == loaded.returncode == 0
    assert lazy.stdout == loaded.stdout
    for name in COMMANDS:
        assert f"\n  {name} " in lazy.stdout


def test_a_mistyped_command_is_told_the_close_names() -> None:
    done = _run("histroy", columns="80")
    assert done.returncode == 2
    assert "No such command 'histroy'" in done.stderr
    assert "history" in done.stderr.split("No such command", 1)[1]


def test_a_command_runs_with_only_its_own_module_imported() -> None:
    probe = (
        "import sys\nfrom modeltrail.bot.cli.main import main\n"
        "code = main(['files'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('modeltrail.bot.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.strip().splitlines()[-1]
    assert "modeltrail.bot.cli.files" in loaded
    for other in {module for module, _ in COMMANDS.values()} - {"files"}:
        assert f"modeltrail.bot.cli.{other}'" not in loaded, other
