"""What each read command imports as a fresh process (issue 18's < 0.3 s budgets): `--help`
no command module at all, every command only its own command module, and nothing it does not
use — no SQLAlchemy, gitpython or the bot's libraries on a local registry, no jinja2 where
nothing is rendered, no rich where nothing is a table, no diff engine where nothing is
compared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modeltrail.bot.cli.catalogue import COMMANDS
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
    "yaml",
    "dateutil",
    "httpx",
)
PROBE = """
import json, sys
from modeltrail.bot.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\n" + json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""
COMMAND_MODULES = {f"modeltrail.bot.cli.{module}" for module, _ in COMMANDS.values()}
DIFF_ENGINE = "modeltrail.core.diff"
ASSISTANT = "modeltrail.bot.assistant"


def loaded(*args: str) -> set[str]:
    """Every module a fresh `modeltrail ARGS…` imported (stdout is a pipe, not a terminal)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def imported(modules: set[str], *names: str) -> set[str]:
    """Which of `names` (packages or modules, with their submodules) are among `modules`."""
    return {n for n in names for m in modules if m == n or m.startswith(n + ".")}


def commands_imported(modules: set[str]) -> set[str]:
    return {m.rsplit(".", 1)[1] for m in modules & COMMAND_MODULES}


def test_the_probe_sees_what_a_command_imports() -> None:
    # a probe that saw nothing would pass every test below
    modules = loaded("files")
    assert "modeltrail.bot.cli.files" in modules and "click" in modules


def test_help_imports_no_command_module_and_nothing_heavy() -> None:
    modules = loaded("--help")
    assert not commands_imported(modules)
    assert not imported(modules, *HEAVY, "jinja2", "rich", "sqlite3", "modeltrail.templates")
    assert not {m for m in modules if m.startswith("modeltrail.core.")} - {
        "modeltrail.core.errors"  # the entry point's error handler
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local SQLite registry of two versions trained in a real git repository, one of them
    in production."""
    from modeltrail.core.capture.git import capture_code

    root = tmp_path_factory.mktemp("trained")
    repo = root / "project"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "ana@example.com")
    git("config", "user.name", "Ana")
    url = f"sqlite:///{root / 'registry.db'}"
    with Registry.open(url) as registry:
        for n, (lr, actor) in enumerate(((0.1, "ana"), (0.2, "ben"))):
            (repo / "README.md").write_text(f"v{n}\n")
            git("add", "README.md")
            git("commit", "-qm", f"v{n}")
            draft = VersionDraft("m", params={"lr": lr}, code=capture_code(repo))
            registry.register(draft, actor=actor)
        registry.promote("m", "1.0.1", actor="ana", force=True, reason="test")
    return url


TABLES = (("list",), ("list", "m"), ("show", "m", "1.0.0"), ("show", "m"))
REPORTS = (("diff", "m"), ("changelog", "m"), ("changelog", "m", "--format", "text"))
JSON = (("diff", "m", "1.0.0", "production", "--format", "json"), ("list", "--json"))
TIMELINES = (("history", "m"), ("history", "m", "--json"), ("history", "m", "--at", "2030-01-01"))


@pytest.mark.parametrize("args", TABLES + REPORTS + JSON + TIMELINES, ids=" ".join)
def test_a_read_command_imports_only_its_own_command_module(
    trained: str, args: tuple[str, ...]
) -> None:
    modules = loaded("--db", trained, *args)
    assert commands_imported(modules) == {COMMANDS[args[0]][0]}
    assert not imported(modules, *HEAVY, ASSISTANT, "modeltrail.core.questions"), args


@pytest.mark.parametrize("args", TABLES, ids=" ".join)
def test_list_and_show_render_no_template_and_compare_nothing(
    trained: str, args: tuple[str, ...]
) -> None:
    assert not imported(loaded("--db", trained, *args), "jinja2", DIFF_ENGINE)


@pytest.mark.parametrize("args", REPORTS, ids=" ".join)
def test_reports_render_plain_text_without_rich(trained: str, args: tuple[str, ...]) -> None:
    """diff and changelog render templates (jinja2 is their work); rich only colours a
    terminal, and the commits come from the git command line."""
    modules = loaded("--db", trained, *args)
    assert "jinja2" in modules
    assert not imported(modules, "rich", "modeltrail.core.lifecycle", "modeltrail.bot.terminal")


@pytest.mark.parametrize("args", JSON, ids=" ".join)
def test_json_output_renders_nothing(trained: str, args: tuple[str, ...]) -> None:
    assert not imported(loaded("--db", trained, *args), "jinja2", "rich", "modeltrail.templates")


@pytest.mark.parametrize("args", TIMELINES, ids=" ".join)
def test_history_is_plain_text_without_the_diff_engine(trained: str, args: tuple[str, ...]) -> None:
    modules = loaded("--db", trained, *args)
    assert not imported(modules, "jinja2", "rich", DIFF_ENGINE, "modeltrail.bot.terminal")


STAGE_QUESTIONS = (
    "what is the latest version",
    "what's live?",
    "who registered 1.0.1",
    "what happened this week",
    "who changed the lr",
    "show 1.0.0",
    "what was in production yesterday at 7:02",
)


@pytest.mark.parametrize("question", STAGE_QUESTIONS)
def test_ask_a_parsed_question_imports_only_what_the_answer_uses(
    trained: str, question: str
) -> None:
    """Without an LLM configured: no LLM modules (nor logging for them), no rich; in UTC no
    zoneinfo; and the diff engine only for a question that compares."""
    modules = loaded("--db", trained, "ask", question)
    assert commands_imported(modules) == {"ask"}
    assert not imported(modules, *HEAVY, "rich", DIFF_ENGINE, "zoneinfo", "logging"), question
    assert not imported(modules, f"{ASSISTANT}.llm", f"{ASSISTANT}.tool_calling"), question


def test_ask_what_changed_imports_the_diff_engine_and_nothing_heavy(trained: str) -> None:
    modules = loaded("--db", trained, "ask", "what changed in 1.0.1")
    assert DIFF_ENGINE in modules
    assert not imported(modules, *HEAVY, "rich"), sorted(modules)


def test_ask_reads_a_named_time_zone(trained: str, tmp_path: Path) -> None:
    """The zone is read when one is configured (zoneinfo is imported for it, not skipped)."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, "--db", trained, "ask", "what was live yesterday at 7:02"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MODELTRAIL_TIMEZONE": "Europe/Paris", "HOME": str(tmp_path)},
    )
    assert probe.returncode == 0, probe.stderr
    assert "zoneinfo" in json.loads(probe.stderr.strip().splitlines()[-1])
