"""Who is making a change: explicit, then MODELTRAIL_ACTOR, then the git user, then the OS user."""

from __future__ import annotations

import getpass
import os


def resolve_actor(
    explicit: str | None = None, *, configured: str | None = None, cwd: str = "."
) -> str:
    for candidate in (explicit, configured, os.environ.get("MODELTRAIL_ACTOR")):
        if candidate and candidate.strip():
            return candidate.strip()
    from modeltrail.core.capture.git import git_user

    user = git_user(cwd)
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
