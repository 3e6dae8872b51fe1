"""`--help`, `show` and `list` start without the heavy libraries (the 0.4 s `show` budget)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

HEAVY = (
    "sqlalchemy",
    "slack_bolt",
    "slack_sdk",
    "openai",
    "matplotlib",
    "git",
    "mlflow",
    "alembic",
)
PROBE = """
import json, sys
from modeltrail.bot.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\n" + json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)
sys.exit(code)
"""


def loaded(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    assert not loaded("--help") & set(HEAVY)


def test_show_and_list_on_a_local_registry_import_nothing_heavy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(url) as registry:
        registry.register(VersionDraft("m", params={"lr": 0.1}), actor="ana")
    assert not loaded("--db", url, "show", "m", "1.0.0") & set(HEAVY)
    assert not loaded("--db", url, "list", "m") & set(HEAVY)


def test_read_commands_on_a_local_registry_import_only_what_they_use(
    tmp_path: Path, git_repo: Path
) -> None:
    """diff, changelog and history read a local SQLite registry with sqlite3 and git with its
    command line: no SQLAlchemy, gitpython or the bot's libraries (issue 18's < 0.3 s budget).
    Rendering a report takes jinja2, which is the command's own work."""
    from modeltrail.core.capture.git import capture_code

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(url) as registry:
        code = capture_code(git_repo)
        registry.register(VersionDraft("m", params={"lr": 0.1}, code=code), actor="ana")
        (git_repo / "README.md").write_text("v2\n")
        subprocess.run(["git", "-C", str(git_repo), "commit", "-qam", "v2"], check=True)
        code = capture_code(git_repo)
        registry.register(VersionDraft("m", params={"lr": 0.2}, code=code), actor="ana")
        registry.promote("m", "1.0.1", actor="ana", force=True, reason="test")
    for args in (
        ("diff", "m"),
        ("diff", "m", "1.0.0", "production", "--format", "json"),
        ("changelog", "m"),
        ("history", "m"),
        ("history", "m", "--json"),
        ("list",),
    ):
        assert not loaded("--db", url, *args) & set(HEAVY), args


def test_ask_a_parsed_question_on_a_local_registry_imports_nothing_heavy(tmp_path: Path) -> None:
    """`ask` answers the common questions through the stdlib reader (the 0.3 s budget)."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(url) as registry:
        registry.register(VersionDraft("m", params={"lr": 0.1}), actor="ana")
        registry.register(VersionDraft("m", params={"lr": 0.2}), actor="ben")
    for question in (
        "what is the latest version",
        "what's live?",
        "who registered 1.0.1",
        "what happened this week",
        "who changed the lr",
        "what changed in 1.0.1",
        "show 1.0.0",
    ):
        assert not loaded("--db", url, "ask", question) & set(HEAVY), question
