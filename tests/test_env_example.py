"""Every setting the code reads is listed in .env.example, and loading that file works."""

from __future__ import annotations

import re
from pathlib import Path

from modeltrail.core.config import Settings

ROOT = Path(__file__).parents[1]


def test_every_setting_is_in_env_example() -> None:
    read = set(re.findall(r'get\("([A-Z_]+)"\)', (ROOT / "core" / "config.py").read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no settings found in core/config.py"
    assert read <= listed, f"not in .env.example: {sorted(read - listed)}"


def test_env_example_as_a_dotenv_file_loads(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    settings = Settings.load(environ={}, env_file=env)
    assert settings.slack_command == "/model"
    assert settings.http_port == 3000
    assert settings.database_url is None  # blank means the default SQLite file
