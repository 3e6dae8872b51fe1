"""References on the command line: `show M@production`, `diff M production latest`,
`diff M@previous M@production`, `reproduce M@golden`, `changelog --since previous`."""

from __future__ import annotations

import json

import pytest
from bot_fixtures import draft

from modeltrail.bot.cli.main import main
from modeltrail.core.registry.writer import Registry


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def seeded(db_url: str) -> None:
    with Registry.open(db_url) as registry:
        for auc in (0.90, 0.91, 0.92):
            registry.register(draft(auc), actor="trainer")
        registry.promote("fraud", "1.0.0", actor="t")
        registry.promote("fraud", "1.0.1", actor="t")
        registry.set_golden("fraud", "1.0.0", actor="t")


def test_show_by_reference(cli, seeded) -> None:
    for ref, version in [
        ("fraud@production", "1.0.1"),
        ("fraud@previous", "1.0.0"),
        ("fraud@golden", "1.0.0"),
        ("fraud@latest", "1.0.2"),
        ("fraud/1.0.2", "1.0.2"),
    ]:
        code, out, err = cli("show", ref, "--json")
        assert code == 0, err
        assert json.loads(out)["version"] == version
    code, out, _ = cli("show", "fraud", "production", "--json")
    assert json.loads(out)["version"] == "1.0.1"


def test_diff_accepts_the_readme_words(cli, seeded) -> None:
    code, out, err = cli("diff", "fraud", "production", "latest", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["from"], result["to"]) == ("1.0.1", "1.0.2")
    code, out, err = cli("diff", "fraud@previous", "fraud@production", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["from"], result["to"]) == ("1.0.0", "1.0.1")


def test_reproduce_and_changelog_by_reference(cli, seeded) -> None:
    code, out, err = cli("reproduce", "fraud@golden")
    assert code == 0, err
    assert "1.0.0" in out
    code, out, err = cli("changelog", "fraud", "--since", "production", "--format", "text")
    assert code == 0, err
    assert "1.0.2" in out and "1.0.1 " not in out.split("1.0.2", 1)[0]


def test_bad_references_are_one_line(cli, seeded) -> None:
    code, _, err = cli("show", "fraud@staging")
    assert code == 1
    assert "fraud has no staging version" in err and "Traceback" not in err
    code, _, err = cli("show", "fraud@banana")
    assert code == 1  # a malformed version is bad input, as the README says (usage errors: 2)
    assert "'banana' is not a version number or a stage name" in err
    code, _, err = cli("diff", "fraud@production", "other@latest")
    assert code == 2 and "names another model" in err
