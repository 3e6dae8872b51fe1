"""Reading the Dockerfile the way Docker does, for the tests that check it and follow its steps."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, USER, ...
    arguments: str


def instructions(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    """Instructions in order; comments dropped, backslash continuations joined."""
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def final_stage(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    steps = instructions(path)
    last_from = max(i for i, step in enumerate(steps) if step.keyword == "FROM")
    return steps[last_from:]


def exec_form(arguments: str) -> list[str]:
    """`["a", "b"]` (the exec form) as a list; anything else is not one."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def env(steps: list[Instruction]) -> dict[str, str]:
    """The ENV values (the `KEY=value ...` form), $PATH-style references left as written."""
    values: dict[str, str] = {}
    for step in steps:
        if step.keyword == "ENV":
            for pair in shlex.split(step.arguments):
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def healthcheck_command(steps: list[Instruction]) -> list[str]:
    (check,) = [s for s in steps if s.keyword == "HEALTHCHECK"]
    _options, _, command = check.arguments.partition("CMD ")
    assert command, "HEALTHCHECK has no CMD"
    return exec_form(command.strip())
