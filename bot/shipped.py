"""The files that ship with modeltrail for its users to copy: the Slack app manifest, the
commented settings file and the CI examples. They are package data (`modeltrail/files/`),
so a pip install has them as well as a checkout."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from modeltrail.core.errors import NotFoundError

SHIPPED: dict[str, str] = {
    "manifest.yml": "the Slack app manifest (api.slack.com/apps → From an app manifest)",
    ".env.example": "every setting, commented; copy to .env",
    "examples/github-actions/register-model.yml": "a GitHub Actions workflow that registers "
    "every push to main; copy to .github/workflows/",
}


def shipped_file(name: str) -> Traversable:
    if name not in SHIPPED:
        raise NotFoundError(
            f"modeltrail ships no file {name!r}", hint=f"one of: {', '.join(SHIPPED)}"
        )
    return files("modeltrail").joinpath("files", *name.split("/"))


def read_shipped(name: str) -> str:
    return shipped_file(name).read_text(encoding="utf-8")
