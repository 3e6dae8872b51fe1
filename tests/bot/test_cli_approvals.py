"""`policy`, `owners`, `promote --request`, `requests`, `approve` and `reject` through
`main([...])`, on SQLite and PostgreSQL, with the bad inputs: one clear line and an exit code."""

from __future__ import annotations

import json

import pytest
from test_cli_lifecycle import ACTOR, seed, stages

from modeltrail.bot.cli.main import main
from modeltrail.core.registry.writer import Registry


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_policy_request_approve_from_the_cli(db_url: str, cli) -> None:
    seed(db_url, 0.90, 0.92)
    assert cli("promote", "fraud", "1.0.0", "--actor", "ada")[0] == 0
    code, out, _ = cli("policy", "fraud")
    assert code == 0 and "need no approval" in out
    code, out, _ = cli("policy", "fraud", "--approvals", "1", "--actor", "ada")
    assert code == 0 and "need 1 approval (requests expire after 24 h)" in out

    code, _, err = cli("promote", "fraud", "1.0.1", "--actor", "ci")
    assert code == 1 and "needs 1 approval" in err and "--request" in err
    assert "Traceback" not in err

    code, out, _ = cli(
        "promote", "fraud", "1.0.1", "--request", "--reason", "auc +2", "--actor", "ci", "--json"
    )
    assert code == 0
    request = json.loads(out)
    assert request["needed"] == 1 and request["version"] == "1.0.1"
    rid = str(request["request"])

    code, out, _ = cli("requests")
    assert code == 0 and f"#{rid} fraud 1.0.1 → production, asked by ci" in out
    assert "0/1 approvals" in out and "auc +2" in out

    code, _, err = cli("approve", rid, "--actor", "CI")
    assert code == 1 and "someone else must approve" in err
    code, out, _ = cli("approve", rid, "--actor", "bob", "--reason", "looked at the diff")
    assert code == 0 and "fraud 1.0.1 is now in production" in out
    assert stages(db_url) == {"1.0.0": "archived", "1.0.1": "production"}
    with Registry.open(db_url) as registry:
        promote = next(e for e in registry.audit_log("fraud") if e.action == "promote")
    assert promote.actor == "bob" and promote.reason == "auc +2"
    assert promote.after["requester"] == "ci"
    assert promote.after["approval_reason"] == "looked at the diff"

    code, _, err = cli("approve", rid, "--actor", "cy")
    assert code == 1 and "already approved" in err
    code, out, _ = cli("requests", "fraud", "--all", "--json")
    assert [r["state"] for r in json.loads(out)] == ["approved"]


def test_reject_and_the_bad_inputs(db_url: str, cli) -> None:
    seed(db_url, 0.90, 0.92)
    cli("policy", "fraud", "--approvals", "1", "--actor", ACTOR)
    code, out, _ = cli("promote", "fraud", "1.0.1", "--request", "--actor", "ci")
    assert code == 0 and out.startswith("request #")
    rid = out.split("#", 1)[1].split(":", 1)[0]  # PostgreSQL's ids do not restart per test
    code, out, _ = cli("reject", rid, "--reason", "not today", "--actor", "bob")
    assert code == 0 and "rejected" in out
    code, _, err = cli("approve", rid, "--actor", "cy")
    assert code == 1 and "rejected by bob" in err
    assert cli("requests", "fraud")[1].strip() == "no open promotion requests for fraud"

    for args, words, exit_code in [
        (("approve", "999999"), "no promotion request #999999", 1),
        (("approve", "x"), "not a valid integer", 2),
        (("policy", "fraud", "--approvals", "9"), "between 0 and 5", 2),
        (("policy", "nosuch", "--approvals", "1"), "no model named 'nosuch'", 1),
        (("promote", "fraud", "1.0.1", "--request", "--force"), "cannot be forced", 2),
        (("requests", "nosuch"), "no model named 'nosuch'", 1),
    ]:
        code, _, err = cli(*args)
        assert code == exit_code and words in err, (args, err)
        assert "Traceback" not in err
    assert stages(db_url)["1.0.1"] == "none"


def test_owners_from_the_cli(db_url: str, cli) -> None:
    seed(db_url, 0.90)
    code, out, _ = cli("owners", "fraud")
    assert code == 0 and "no owners; the admins" in out
    code, out, _ = cli("owners", "fraud", "--add", "U0123ABC", "--group", "S0ML", "--actor", "ada")
    assert code == 0 and "owners U0123ABC, group S0ML (and the admins)" in out
    code, out, _ = cli("owners", "fraud", "--remove", "S0ML", "--json")
    assert json.loads(out) == {"model": "fraud", "users": ["U0123ABC"], "groups": []}
    code, _, err = cli("owners", "fraud", "--add", "dana")
    assert code == 2 and "'dana' is not a Slack user ID" in err
