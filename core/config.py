"""One typed settings object, read from the environment and `.env`, built by the entry point.

A frozen dataclass filled by a small loader rather than pydantic-settings: importing pydantic
costs ~0.2 s here, and `modeltrail show` must finish in 0.4 s as a fresh process. `.env`
parsing is python-dotenv's. Values in the real environment win over `.env`; explicit
arguments (CLI flags) win over both (`Settings.with_overrides`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import ConfigError

DEFAULT_DATABASE_PATH = Path(".modeltrail") / "registry.db"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: SQLite at .modeltrail/registry.db under cwd
    actor: str | None = None
    cache_dir: str | None = None

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls(
            database_url=_blank_to_none(values.get("MODELTRAIL_DATABASE_URL")),
            actor=_blank_to_none(values.get("MODELTRAIL_ACTOR")),
            cache_dir=_blank_to_none(values.get("MODELTRAIL_CACHE_DIR")),
        )

    def with_overrides(self, **overrides: object) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def resolved_database_url(self, cwd: Path | None = None) -> str:
        if self.database_url:
            return self.database_url
        base = cwd or Path.cwd()
        return f"sqlite:///{base / DEFAULT_DATABASE_PATH}"


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()
