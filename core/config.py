"""One typed settings object, read from the environment and `.env`, built by the entry point.

A frozen dataclass filled by a small loader rather than pydantic-settings: importing pydantic
costs ~0.2 s here, and `modeltrail show` must finish in 0.4 s as a fresh process. `.env`
parsing is python-dotenv's. Values in the real environment win over `.env`; explicit
arguments (CLI flags) win over both (`Settings.with_overrides`).

Any setting NAME may instead be given as NAME_FILE, the path of a file holding the value
(Docker and Kubernetes secrets: `SLACK_BOT_TOKEN_FILE=/run/secrets/slack_bot_token`), so a
secret need not sit in the environment, where `docker inspect` and child processes see it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from modeltrail.core.errors import ConfigError
from modeltrail.core.safe_files import CONFIG_LIMITS, FileLimits, read_regular_file

DEFAULT_DATABASE_PATH = Path(".modeltrail") / "registry.db"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    actor: str | None = None
    cache_dir: str | None = None
    # Where artifact bytes are kept (core/vault): None = .modeltrail/artifacts beside a SQLite
    # registry; file:///path, s3://bucket/prefix, gs://…, az://… (object stores: the s3 extra).
    artifact_store: str | None = None
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
    # HTTP worker processes of `serve` (bot/web/workers.py); 1: one process does everything.
    http_workers: int = 1
    # How `serve` logs to stderr: the level, and text or one JSON object a line.
    log_level: str = "info"  # debug | info | warning | error
    log_format: str = "text"  # text | json
    # LLM (optional): any OpenAI-compatible server.
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 20.0
    llm_max_retries: int = 2
    # The digest email (modeltrail digest, and `serve` on a schedule).
    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 465 for ssl, 587 for starttls, 25 for none
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_timeout: float = 30.0
    digest_from: str | None = None
    digest_to: tuple[str, ...] = ()
    digest_schedule: str | None = None  # e.g. "mon 09:00"; unset: no scheduled digest
    digest_slack: bool = False
    timezone: str = "UTC"
    # MLflow (modeltrail import mlflow, and `serve`'s webhook and poller); needs the extra.
    mlflow_tracking_uri: str | None = field(default=None, repr=False)  # may hold a password
    mlflow_webhook_secret: str | None = field(default=None, repr=False)
    mlflow_poll_seconds: float | None = None  # None: no polling
    mlflow_models: tuple[str, ...] = ()  # registered models the webhook/poller import; (): all
    mlflow_aliases: str | None = None  # "champion=production,challenger=staging"; None: default
    mlflow_version_template: str | None = None  # None: "1.{N}.0"
    # Monitoring over HTTP (`serve`'s POST /api/monitoring/MODEL); unset: the route is off.
    api_token: str | None = field(default=None, repr=False)
    # Where people reach `serve` (e.g. https://modeltrail.example.com): Slack reports and
    # digest emails link to its pages; the link secret signs those links (read, one model).
    public_url: str | None = None
    link_secret: str | None = field(default=None, repr=False)
    # The audit trail: an HMAC key for the hash chain, and where `serve` anchors the head
    # once a day ("slack:#channel" or a file path); unset: unkeyed, not anchored.
    audit_key: str | None = field(default=None, repr=False)
    audit_anchor: str | None = None
    # Files read for a version (params/metrics files, DVC files, MLflow's environment
    # files): refused beyond these (core/safe_files.py).
    params_max_bytes: int = 10 * 1024 * 1024
    params_max_keys: int = 100_000

    @property
    def file_limits(self) -> FileLimits:
        return FileLimits(max_bytes=self.params_max_bytes, max_keys=self.params_max_keys)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        values: dict[str, str] = {}
        if env_file is not None and os.path.exists(env_file) and not os.path.isdir(env_file):
            import io

            from dotenv import dotenv_values

            # A pipe or device named .env is refused, never read; so is one over 1 MiB.
            text = read_regular_file(env_file, "settings", limits=CONFIG_LIMITS, error=ConfigError)
            parsed = dotenv_values(stream=io.StringIO(text))
            values.update({k: v for k, v in parsed.items() if v is not None})
        values.update(os.environ if environ is None else environ)
        get = _reader(values)
        return cls(
            database_url=_blank_to_none(get("MODELTRAIL_DATABASE_URL")),
            actor=_blank_to_none(get("MODELTRAIL_ACTOR")),
            cache_dir=_blank_to_none(get("MODELTRAIL_CACHE_DIR")),
            artifact_store=_blank_to_none(get("MODELTRAIL_ARTIFACT_STORE")),
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
            http_workers=parse_workers(get("MODELTRAIL_HTTP_WORKERS")) or 1,
            log_level=_choice(
                get("MODELTRAIL_LOG_LEVEL"),
                "MODELTRAIL_LOG_LEVEL",
                ("debug", "info", "warning", "error"),
                "info",
            ),
            log_format=_choice(
                get("MODELTRAIL_LOG_FORMAT"), "MODELTRAIL_LOG_FORMAT", ("text", "json"), "text"
            ),
            openai_api_key=_blank_to_none(get("OPENAI_API_KEY")),
            openai_base_url=_blank_to_none(get("OPENAI_BASE_URL")),
            llm_model=_blank_to_none(get("MODELTRAIL_LLM_MODEL")) or "gpt-4o-mini",
            llm_timeout=_number(get("MODELTRAIL_LLM_TIMEOUT"), "MODELTRAIL_LLM_TIMEOUT", 20.0),
            llm_max_retries=int(
                _number(get("MODELTRAIL_LLM_MAX_RETRIES"), "MODELTRAIL_LLM_MAX_RETRIES", 2)
            ),
            smtp_host=_blank_to_none(get("SMTP_HOST")),
            smtp_port=(
                _port(get("SMTP_PORT"), "SMTP_PORT", 0)
                if _blank_to_none(get("SMTP_PORT"))
                else None
            ),
            smtp_username=_blank_to_none(get("SMTP_USERNAME")),
            smtp_password=_blank_to_none(get("SMTP_PASSWORD")),
            smtp_security=_choice(
                get("SMTP_SECURITY"), "SMTP_SECURITY", ("starttls", "ssl", "none"), "starttls"
            ),
            smtp_timeout=_number(get("SMTP_TIMEOUT"), "SMTP_TIMEOUT", 30.0),
            digest_from=_blank_to_none(get("MODELTRAIL_DIGEST_FROM")),
            digest_to=_split_list(get("MODELTRAIL_DIGEST_TO")),
            digest_schedule=_blank_to_none(get("MODELTRAIL_DIGEST_SCHEDULE")),
            digest_slack=_flag(get("MODELTRAIL_DIGEST_SLACK"), "MODELTRAIL_DIGEST_SLACK"),
            timezone=_blank_to_none(get("MODELTRAIL_TIMEZONE")) or "UTC",
            mlflow_tracking_uri=_blank_to_none(get("MLFLOW_TRACKING_URI")),
            mlflow_webhook_secret=_blank_to_none(get("MLFLOW_WEBHOOK_SECRET")),
            mlflow_poll_seconds=(
                _number(get("MODELTRAIL_MLFLOW_POLL_SECONDS"), "MODELTRAIL_MLFLOW_POLL_SECONDS", 0)
                or None
            ),
            mlflow_models=_split_list(get("MODELTRAIL_MLFLOW_MODELS")),
            mlflow_aliases=_blank_to_none(get("MODELTRAIL_MLFLOW_ALIASES")),
            mlflow_version_template=_blank_to_none(get("MODELTRAIL_MLFLOW_VERSION_TEMPLATE")),
            api_token=_blank_to_none(get("MODELTRAIL_API_TOKEN")),
            public_url=_blank_to_none(get("MODELTRAIL_PUBLIC_URL")),
            link_secret=_blank_to_none(get("MODELTRAIL_LINK_SECRET")),
            audit_key=_blank_to_none(get("MODELTRAIL_AUDIT_KEY")),
            audit_anchor=_blank_to_none(get("MODELTRAIL_AUDIT_ANCHOR")),
            params_max_bytes=int(
                _number(
                    get("MODELTRAIL_PARAMS_MAX_BYTES"), "MODELTRAIL_PARAMS_MAX_BYTES", 10 * 1024**2
                )
            ),
            params_max_keys=int(
                _number(get("MODELTRAIL_PARAMS_MAX_KEYS"), "MODELTRAIL_PARAMS_MAX_KEYS", 100_000)
            ),
        )

    def with_overrides(self, **overrides: object) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def llm_configured(self) -> bool:
        """An LLM is set up: an API key, or a base URL for a local server that needs none."""
        return bool(self.openai_api_key or self.openai_base_url)

    def resolved_database_url(self, cwd: Path | None = None) -> str:
        if self.database_url:
            return self.database_url
        base = cwd or Path.cwd()
        return f"sqlite:///{base / DEFAULT_DATABASE_PATH}"


def _reader(values: Mapping[str, str]) -> Callable[[str], str | None]:
    """`get(NAME)`: NAME's value, or the content of the file NAME_FILE names."""

    def get(name: str) -> str | None:
        path = _blank_to_none(values.get(f"{name}_FILE"))
        if path is None:
            return values.get(name)
        if _blank_to_none(values.get(name)) is not None:
            raise ConfigError(f"both {name} and {name}_FILE are set; keep one")
        # The value is the file's text less its trailing newline(s); never echoed. A pipe or
        # a device (a secret mount gone wrong, /dev/zero) is refused at once, never read.
        if not os.path.lexists(path):
            raise ConfigError(f"{name}_FILE: cannot read {path}: {os.strerror(errno.ENOENT)}")
        text = read_regular_file(path, f"{name}_FILE's", limits=CONFIG_LIMITS, error=ConfigError)
        return text.rstrip("\r\n")

    return get


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.replace(";", ",").split(",") if item.strip())


def _flag(value: str | None, name: str) -> bool:
    text = (_blank_to_none(value) or "false").lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not true or false")


def _choice(value: str | None, name: str, choices: tuple[str, ...], default: str) -> str:
    text = (_blank_to_none(value) or default).lower()
    if text not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return text


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


MAX_HTTP_WORKERS = 64


def parse_workers(value: str | None, name: str = "MODELTRAIL_HTTP_WORKERS") -> int | None:
    """`serve`'s HTTP worker processes: a count, or "auto" for the CPUs this process may run
    on (its affinity: a container's cpuset, not its CPU quota); None when blank."""
    text = _blank_to_none(value)
    if text is None:
        return None
    if text.lower() == "auto":
        affinity = getattr(os, "sched_getaffinity", None)
        return max(1, min(len(affinity(0)) if affinity else os.cpu_count() or 1, MAX_HTTP_WORKERS))
    try:
        count = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number of processes (or auto)") from None
    if not 1 <= count <= MAX_HTTP_WORKERS:
        raise ConfigError(f"{name}={count} is out of range (1-{MAX_HTTP_WORKERS})")
    return count


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
