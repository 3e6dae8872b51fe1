"""Settings from files (NAME_FILE), for secrets mounted by Docker or Kubernetes."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeltrail.bot.cli.main import main
from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError


def secret(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_secrets_are_read_from_the_files_named(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={
            "SLACK_BOT_TOKEN_FILE": secret(tmp_path, "bot", "xoxb-from-file\n"),
            "OPENAI_API_KEY_FILE": secret(tmp_path, "openai", "sk-from-file"),
            "MODELTRAIL_DATABASE_URL_FILE": secret(
                tmp_path, "db", "postgresql://mt:pw@db/modeltrail\r\n"
            ),
            "SMTP_PASSWORD_FILE": secret(tmp_path, "smtp", "  spaces kept inside  \n"),
        },
        env_file=None,
    )
    assert settings.slack_bot_token == "xoxb-from-file"  # the trailing newline dropped
    assert settings.openai_api_key == "sk-from-file"
    assert settings.database_url == "postgresql://mt:pw@db/modeltrail"
    assert settings.smtp_password == "spaces kept inside"
    shown = repr(settings)
    assert "from-file" not in shown and "pw@" not in shown


def test_any_setting_can_come_from_a_file_also_in_dotenv(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"MODELTRAIL_HTTP_PORT_FILE={secret(tmp_path, 'port', '8080')}\n")
    assert Settings.load(environ={}, env_file=env).http_port == 8080


def test_a_value_and_a_file_for_one_setting_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE"):
        Settings.load(
            environ={
                "SLACK_BOT_TOKEN": "xoxb-env",
                "SLACK_BOT_TOKEN_FILE": secret(tmp_path, "bot", "xoxb-file"),
            },
            env_file=None,
        )


def test_an_unreadable_file_is_named_and_its_content_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        Settings.load(environ={"OPENAI_API_KEY_FILE": str(tmp_path / "nope")}, env_file=None)
    assert missing.value.message == (
        f"OPENAI_API_KEY_FILE: cannot read {tmp_path / 'nope'}: No such file or directory"
    )
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfesecret")
    with pytest.raises(ConfigError, match="is not UTF-8 text") as undecodable:
        Settings.load(environ={"SMTP_PASSWORD_FILE": str(binary)}, env_file=None)
    assert "secret" not in str(undecodable.value).replace("SMTP_PASSWORD_FILE", "")


def test_the_cli_says_it_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL_FILE", str(tmp_path / "missing"))
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"error: MODELTRAIL_DATABASE_URL_FILE: cannot read {tmp_path / 'missing'}: "
        "No such file or directory"
    )
    assert "Traceback" not in err


def test_log_settings_are_checked() -> None:
    loaded = Settings.load(
        environ={"MODELTRAIL_LOG_LEVEL": "WARNING", "MODELTRAIL_LOG_FORMAT": "json"},
        env_file=None,
    )
    assert (loaded.log_level, loaded.log_format) == ("warning", "json")
    assert Settings.load(environ={}, env_file=None).log_format == "text"
    with pytest.raises(ConfigError, match="MODELTRAIL_LOG_FORMAT='xml' is not one of text, json"):
        Settings.load(environ={"MODELTRAIL_LOG_FORMAT": "xml"}, env_file=None)
