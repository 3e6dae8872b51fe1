"""What the demo's steps work with: the project directory and its registry (`Demo`), the people
who commit and train in it (`Persona`), and running git and `python train.py` there as them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from modeltrail.core.errors import ModeltrailError

MODEL = "fraud-detector"
TRAIN_TIMEOUT_S = 300

_REGISTERED = re.compile(rf"^registered {MODEL} (\S+)\n(.*)$", re.MULTILINE)
# Variables that would point git at another repository than the demo's.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class DemoError(ModeltrailError):
    """The demo cannot run here (directory in use, git missing, a training run failed)."""


@dataclass(frozen=True)
class Persona:
    name: str
    email: str  # also the registry actor

    @property
    def actor(self) -> str:
        return self.email


@dataclass
class Demo:
    """What the steps share: where the project is, which registry, where to print."""

    directory: Path
    database_url: str
    default_database: bool
    console: Console
    versions: list[str] = field(default_factory=list)

    def git(self, *args: str, persona: Persona | None = None) -> str:
        return _run_git(self.directory, args, persona)

    def write(self, relative: str, text: str) -> None:
        path = self.directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, persona: Persona, message: str, *paths: str) -> None:
        self.git("add", "--", *paths)
        self.git("commit", "-q", "--no-verify", "-m", message, persona=persona)
        self.console.print(f"  [dim]{escape(persona.actor)} commits:[/] {escape(message)}")

    def train(self, persona: Persona, message: str) -> str:
        """Run train.py as `persona`; return the version it registered."""
        env = _clean_env()
        env.update(
            MODELTRAIL_DATABASE_URL=self.database_url,
            MODELTRAIL_ACTOR=persona.actor,
            PYTHONDONTWRITEBYTECODE="1",
        )
        started = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, "train.py", "-m", message],
                cwd=self.directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=TRAIN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"train.py did not finish within {TRAIN_TIMEOUT_S} s") from None
        if result.returncode != 0:
            err = Console(stderr=True, highlight=False)
            err.print(escape(result.stderr.rstrip()), style="dim")
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise DemoError(
                f"train.py failed (exit {result.returncode}): {last}",
                hint=f"its output is above; the project is in {self.directory}",
            )
        seconds = time.perf_counter() - started
        found = _REGISTERED.search(result.stdout)
        if found is None:
            tail = result.stdout.strip()[-200:]
            raise DemoError(f"train.py did not report the version it registered: {tail!r}")
        version, metrics = found.group(1), found.group(2)
        self.console.print(
            f"  [dim]{escape(persona.actor)} trains:[/] [bold]{MODEL} {version}[/] "
            f"[dim]({seconds:.1f} s)[/]\n    {escape(metrics)}"
        )
        self.versions.append(version)
        return version


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}


def _run_git(directory: Path, args: tuple[str, ...], persona: Persona | None) -> str:
    identity: list[str] = []
    if persona is not None:
        # The demo's people author its commits, whatever git identity this machine has.
        identity = [
            "-c",
            f"user.name={persona.name}",
            "-c",
            f"user.email={persona.email}",
            "-c",
            "commit.gpgsign=false",
        ]
    try:
        result = subprocess.run(
            ["git", *identity, *args],
            cwd=directory,
            env=_clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise DemoError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"`git {' '.join(args[:2])}` failed in {directory}: {detail}")
    return result.stdout
