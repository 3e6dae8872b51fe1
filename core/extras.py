"""The optional extras and the libraries each installs (see pyproject.toml).

A feature calls `require(extra, feature)` before importing its library, so a missing extra is
one line naming what to install instead of an ImportError from deep inside the feature. The
check looks for the module without importing it: it costs microseconds, not the library's
start-up.
"""

from __future__ import annotations

from importlib.util import find_spec

from modeltrail.core.errors import MissingExtraError

EXTRAS: dict[str, tuple[str, ...]] = {
    "slack": ("slack_bolt", "slack_sdk", "websocket"),
    "llm": ("openai", "httpx"),
    "digest": ("matplotlib",),
    "postgres": ("psycopg",),
    "s3": ("obstore",),
}


def installed(extra: str) -> bool:
    return all(find_spec(module) is not None for module in EXTRAS[extra])


def require(extra: str, feature: str) -> None:
    """Raise MissingExtraError unless every library of `extra` is importable."""
    if not installed(extra):
        raise MissingExtraError(feature, extra)
