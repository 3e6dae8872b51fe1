"""One typed settings object, read from the environment and `.env`, built by the entry point.

A frozen dataclass filled by a small loader rather than pydantic-settings: importing pydantic
costs ~0.2 s here, and `modeltrail show` must finish in 0.4 s as a fresh process. `.env`
parsing is python-dotenv's. Values in the real environment win over `.env`; explicit
arguments (CLI flags) win over both (`Settings.with_overrides`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigError

DEFAULT_DATABASE_PATH = Path(".modeltrail") / "registry.db"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    actor: str | None = None
    cache_dir: str | None = None
    # Slack (the bot); secrets never appear in repr() or logs.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_command: str = "/model"
    slack_channel: str | None = None
    slack_admins: tuple[str, ...] = ()
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    # LLM (optional): any OpenAI-compatible server.
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 20.0
    llm_max_retries: int = 2

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
        get = values.get
        return cls(
            database_url=_blank_to_none(get("MODELTRAIL_DATABASE_URL")),
            actor=_blank_to_none(get("MODELTRAIL_ACTOR")),
            cache_dir=_blank_to_none(get("MODELTRAIL_CACHE_DIR")),
            slack_bot_token=_blank_to_none(get("SLACK_BOT_TOKEN")),
            slack_signing_secret=_blank_to_none(get("SLACK_SIGNING_SECRET")),
            slack_app_token=_blank_to_none(get("SLACK_APP_TOKEN")),
            slack_command=_blank_to_none(get("MODELTRAIL_SLACK_COMMAND")) or "/model",
            slack_channel=_blank_to_none(get("MODELTRAIL_SLACK_CHANNEL")),
            slack_admins=_split_list(get("MODELTRAIL_SLACK_ADMINS")),
            slack_api_url=_blank_to_none(get("MODELTRAIL_SLACK_API_URL"))
            or "https://slack.com/api/",
            http_host=_blank_to_none(get("MODELTRAIL_HTTP_HOST")) or "127.0.0.1",
            http_port=_port(get("MODELTRAIL_HTTP_PORT"), "MODELTRAIL_HTTP_PORT", 3000),
            openai_api_key=_blank_to_none(get("OPENAI_API_KEY")),
            openai_base_url=_blank_to_none(get("OPENAI_BASE_URL")),
            llm_model=_blank_to_none(get("MODELTRAIL_LLM_MODEL")) or "gpt-4o-mini",
            llm_timeout=_number(get("MODELTRAIL_LLM_TIMEOUT"), "MODELTRAIL_LLM_TIMEOUT", 20.0),
            llm_max_retries=int(
                _number(get("MODELTRAIL_LLM_MAX_RETRIES"), "MODELTRAIL_LLM_MAX_RETRIES", 2)
            ),
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


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.replace(";", ",").split(",") if item.strip())


def _port(value: str | None, name: str, default: int) -> int:
    text = _blank_to_none(value)
    if text is None:
        return default
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}={port} is out of range (0-65535)")
    return port


def _number(value: str | None, name: str, default: float) -> float:
    text = _blank_to_none(value)
    if text is None:
        return default
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None
    if number < 0 or number != number:
        raise ConfigError(f"{name}={text} must be a number ≥ 0")
    return number
