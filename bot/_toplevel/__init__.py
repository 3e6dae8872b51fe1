"""modeltrail: a permanent, explainable record of every model version, and what changed.

The code is in `modeltrail.core` (the registry), `modeltrail.bot` (the CLI, Slack, the web
server) and `modeltrail.templates`. This package itself holds only what belongs to the whole
distribution: `python -m modeltrail`, the version, the `py.typed` marker and the files shipped
for users to copy (`files/`). Its folder is bot/_toplevel because the repository's top level
is fixed; pyproject.toml maps `modeltrail` here.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Read on demand: importing modeltrail.core must not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import version

        return version("modeltrail")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
