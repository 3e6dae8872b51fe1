"""The lifecycle commands through `main([...])`, on SQLite and PostgreSQL: promote and its gate,
rollback, golden, retire, retention, history `--at`, audit verify against the four kinds of
tampering, audit log and the actor, reproduce `--write`, tags, notes, gate rules, outbox.

Versions are registered through the registry (with whole lineage built by hand, and an
injected clock where time matters); every command under test runs through the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from modeltrail.bot.cli.main import main
from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.lifecycle import audit
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

ACTOR = "Ada <ada@example.com>"
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
ENV = environment_from_parts(
    python_version="3.11.9",
    platform="Linux-6.1-x86_64",
    packages={"numpy": "2.1.0", "scikit-learn": "1.5.2"},
)
TRAIN = b"x,y\n1,0\n2,1\n"
COMMIT = "c0ffee" * 6 + "abcd"


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]):
    """Run the CLI against the test database; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def draft(
    auc: float = 0.90, *, lineage: bool = True, dirty: bool = False, **extra: Any
) -> VersionDraft:
    digest = hashlib.sha256(TRAIN).hexdigest()
    data = (
        DataSnapshot("train", "data/train.csv", "file", digest, len(TRAIN), 1),
        DataSnapshot(
            "features", "data/features.parquet", "file", None, None, None,
            dvc_md5="d41d8cd98f00b204e9800998ecf8427e", dvc_source="dvc.lock",
        ),
    )  # fmt: skip
    code = CodeState(
        "/src/fraud",
        COMMIT,
        "main",
        "https://git.example.com/risk/fraud.git",
        dirty,
        ("train.py",) if dirty else (),
        "ab" * 32 if dirty else None,
    )
    return VersionDraft(
        model="fraud",
        params={"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 20},
        metric_points={"auc": [(0, auc, 1_790_000_000.0)]},
        data=data if lineage else (),
        code=code if lineage else None,
        environment=ENV if lineage else None,
        **extra,
    )


def seed(db_url: str, *aucs: float, clock: Any = None, **kwargs: Any) -> None:
    """Register one complete version per auc: 1.0.0, 1.0.1, …"""
    with Registry.open(db_url, **({"clock": clock} if clock else {})) as registry:
        for auc in aucs:
            registry.register(draft(auc, **kwargs), actor=ACTOR)


def stages(db_url: str) -> dict[str, str]:
    with Registry.open(db_url) as registry:
        return {v.version: v.stage for v in registry.model_state("fraud").versions}


def audit_count(cli) -> int:
    code, out, _ = cli("audit", "log", "--limit", "0", "--json")
    assert code == 0
    return len(json.loads(out))


# -- promote and the gate -------------------------------------------------------------------------


def test_promote_defaults_to_production_and_supersedes(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.92)
    code, out, err = cli("promote", "fraud", "1.0.0", "--actor", "ada", "--reason", "first")
    assert code == 0, err
    assert "fraud 1.0.0 is now in production" in out
    assert "1.0.0: none → production (first)" in out

    code, out, err = cli("promote", "fraud", "latest", "--actor", "ada")
    assert code == 0, err
    assert "fraud 1.0.1 is now in production" in out
    assert "1.0.0: production → archived (superseded by 1.0.1)" in out
    assert stages(db_url) == {"1.0.0": "archived", "1.0.1": "production"}


def test_promote_to_staging(cli, db_url: str) -> None:
    seed(db_url, 0.90)
    code, out, _ = cli("promote", "fraud", "1.0.0", "--to", "staging", "--actor", "ada")
    assert code == 0 and "fraud 1.0.0 is now in staging" in out
    code, _, err = cli("promote", "fraud", "1.0.0", "--to", "archived")
    assert code == 2 and "archived" in err


def test_a_regression_blocks_with_exit_1_and_the_reasons(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.80)
    assert cli("promote", "fraud", "1.0.0", "--actor", "ada")[0] == 0
    events = audit_count(cli)
    code, out, err = cli("promote", "fraud", "1.0.1", "--actor", "ada")
    assert code == 1
    assert "promotion of fraud 1.0.1 to production blocked (compared with production 1.0.0)" in err
    assert "BLOCKS   metric_regression: auc fell 0.9 → 0.8" in err
    assert "--force --reason" in err
    assert "Traceback" not in out + err
    assert stages(db_url) == {"1.0.0": "production", "1.0.1": "none"}
    assert audit_count(cli) == events

    code, out, _ = cli("promote", "fraud", "1.0.1", "--json")
    assert code == 1
    decision = json.loads(out)
    assert (decision["moved"], decision["allowed"], decision["baseline"]) == (False, False, "1.0.0")
    assert [f["kind"] for f in decision["blocking"]] == ["metric_regression"]


def test_missing_lineage_blocks(cli, db_url: str) -> None:
    seed(db_url, 0.90, lineage=False)
    code, _, err = cli("promote", "fraud", "1.0.0")
    assert code == 1
    assert "BLOCKS   missing_lineage: 1.0.0 cannot be reproduced" in err
    assert "compared with" not in err


def test_force_overrides_with_a_reason_and_is_recorded(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.80)
    assert cli("promote", "fraud", "1.0.0")[0] == 0
    code, _, err = cli("promote", "fraud", "1.0.1", "--force")
    assert code == 2 and "--force needs --reason" in err
    code, out, err = cli(
        "promote", "fraud", "1.0.1", "--force", "--reason", "outage hotfix", "--actor", "oncall"
    )
    assert code == 0, err
    assert "fraud 1.0.1 is now in production (gate overridden with --force; recorded)" in out
    assert "BLOCKS   metric_regression" in out

    code, out, _ = cli("audit", "log", "fraud", "--json", "-n", "1")
    event = json.loads(out)[0]
    assert (event["actor"], event["reason"], event["after"]["forced"]) == (
        "oncall",
        "outage hotfix",
        True,
    )
    code, out, _ = cli("audit", "log", "fraud", "-n", "1")
    assert "none → production (forced)" in out and "outage hotfix" in out


def test_gate_rules_are_configurable_per_model(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.80)
    assert cli("promote", "fraud", "1.0.0")[0] == 0
    code, out, _ = cli("gate", "fraud")
    assert code == 0 and "blocks severities critical" in out
    code, out, _ = cli("gate", "fraud", "--allow", "metric_regression", "--actor", "lead")
    assert code == 0 and "never blocks metric_regression" in out
    code, out, err = cli("promote", "fraud", "1.0.1")
    assert code == 0, err
    code, out, _ = cli("gate", "fraud", "--reset")
    assert "never blocks —" in out


# -- rollback, golden, retire, retention -----------------------------------------------------------


def test_rollback_restores_the_previous_production(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.91)
    assert cli("promote", "fraud", "1.0.0")[0] == 0
    code, _, err = cli("rollback", "fraud", "--reason", "bad")
    assert code == 1 and "no earlier production version to roll back to" in err
    assert "modeltrail promote fraud VERSION" in err
    assert cli("promote", "fraud", "1.0.1")[0] == 0
    code, _, err = cli("rollback", "fraud")
    assert code == 2 and "--reason" in err

    code, out, err = cli("rollback", "fraud", "--reason", "latency spike", "--actor", "oncall")
    assert code == 0, err
    assert "fraud rolled back: 1.0.0 is in production again" in out
    assert "1.0.1: production → archived (latency spike)" in out
    assert stages(db_url) == {"1.0.0": "production", "1.0.1": "archived"}


def test_rollback_of_an_unknown_model(cli) -> None:
    code, _, err = cli("rollback", "nope", "--reason", "x")
    assert code == 1 and "no model named 'nope'" in err


def test_golden_marks_one_baseline(cli, db_url: str) -> None:
    seed(db_url, 0.90, 0.91)
    code, out, _ = cli("golden", "fraud", "1.0.0", "--reason", "signed off")
    assert code == 0 and out.strip() == "fraud 1.0.0 is the golden version"
    code, out, _ = cli("golden", "fraud", "latest")
    assert code == 0 and "fraud 1.0.1 is the golden version (was 1.0.0)" in out
    code, _, err = cli("golden", "fraud", "1.0.1")
    assert code == 1 and "already the golden version" in err


def test_retire_needs_a_reason(cli, db_url: str) -> None:
    seed(db_url, 0.90)
    code, _, err = cli("retire", "fraud", "1.0.0")
    assert code == 2 and "--reason" in err
    code, out, err = cli("retire", "fraud", "1.0.0", "--reason", "fairness issue on segment X")
    assert code == 0, err
    assert "fraud 1.0.0 retired" in out
    assert "1.0.0: none → archived (fairness issue on segment X)" in out
    code, _, err = cli("retire", "fraud", "1.0.0", "--reason", "again")
    assert code == 1 and "already retired" in err


def test_retention_dry_run_then_apply(cli, db_url: str) -> None:
    seed(db_url, *(0.90 + i / 100 for i in range(7)))
    assert cli("promote", "fraud", "1.0.6")[0] == 0
    assert cli("golden", "fraud", "1.0.0")[0] == 0
    before = audit_count(cli)

    code, out, _ = cli("retention", "apply", "fraud", "--dry-run")
    assert code == 0
    reason = "retention: 3+ iterations behind production 1.0.6"
    assert "fraud: would archive 2 versions" in out
    assert f"1.0.2 (none → archived): {reason}" in out
    assert f"1.0.1 (none → archived): {reason}" in out
    assert "1.0.0" not in out  # golden
    assert audit_count(cli) == before
    assert set(stages(db_url).values()) == {"none", "production"}

    code, out, _ = cli("retention", "apply", "fraud", "--keep", "3", "--actor", "janitor")
    assert code == 0 and "fraud: archived 2 versions" in out
    assert stages(db_url)["1.0.1"] == stages(db_url)["1.0.2"] == "archived"
    assert audit_count(cli) == before + 2

    code, out, _ = cli("retention", "apply", "fraud")
    assert code == 0 and "fraud: nothing to archive" in out
    code, _, err = cli("retention", "apply", "fraud", "--keep", "-1")
    assert code == 2 and "--keep" in err


# -- history ---------------------------------------------------------------------------------------


def test_history_timeline_and_at(cli, db_url: str) -> None:
    moment = [T0]
    with Registry.open(db_url, clock=lambda: moment[0]) as registry:
        for i, auc in enumerate((0.90, 0.91)):
            registry.register(draft(auc), actor=ACTOR)
            registry.promote("fraud", f"1.0.{i}", actor="ada", reason=f"release {i}")
            moment[0] += dt.timedelta(days=2)  # 1.0.0 on Nov 1, 1.0.1 on Nov 3
        registry.rollback("fraud", actor="oncall", reason="spike")  # Nov 5

    code, out, _ = cli("history", "fraud")
    assert code == 0
    assert "fraud: production timeline (newest first)" in out
    assert "1.0.0  2026-11-05 09:00 UTC → now" in out
    assert "1.0.1  2026-11-03 09:00 UTC → 2026-11-05 09:00 UTC" in out
    assert "in by ada: release 1" in out and "out by oncall: spike" in out
    assert out.index("2026-11-05 09:00 UTC → now") < out.index("2026-11-01 09:00 UTC")

    for when, expected in [
        ("2026-10-31", "fraud had no production version at 2026-10-31T23:59:59.999999Z"),
        ("2026-11-01", "fraud 1.0.0 was in production at"),
        ("2026-11-03 08:59", "fraud 1.0.0 was in production at 2026-11-03T08:59:00"),
        ("2026-11-03T09:00:00+00:00", "fraud 1.0.1 was in production"),
        ("2026-11-04T11:00:00+02:00", "fraud 1.0.1 was in production"),
        ("2026-12-01", "fraud 1.0.0 was in production"),
    ]:
        code, out, err = cli("history", "fraud", "--at", when)
        assert code == 0, err
        assert expected in out, (when, out)

    code, out, _ = cli("history", "fraud", "--at", "2026-11-04", "--json")
    assert json.loads(out)["production"] == "1.0.1"
    code, out, _ = cli("history", "fraud", "--json")
    periods = json.loads(out)
    assert [(p["version"], p["moved_by"], p["left_reason"]) for p in periods] == [
        ("1.0.0", "oncall", None),
        ("1.0.1", "ada", "spike"),
        ("1.0.0", "ada", "superseded by 1.0.1"),
    ]
    code, _, err = cli("history", "fraud", "--at", "last tuesday")
    assert code == 2 and "is not a date or time" in err


def test_history_of_a_model_never_in_production(cli, db_url: str) -> None:
    seed(db_url, 0.9)
    code, out, _ = cli("history", "fraud")
    assert code == 0 and "fraud has never had a production version" in out


# -- audit -----------------------------------------------------------------------------------------


def run_sql(db_url: str, *statements: str, **params: Any) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)
    engine.dispose()


def stored(db_url: str, seq: int) -> audit.StoredEvent:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq})
        event = audit.StoredEvent(**row.mappings().one())
    engine.dispose()
    return event


def _edit(db_url: str) -> None:
    run_sql(db_url, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3")


def _delete(db_url: str) -> None:
    run_sql(db_url, "DELETE FROM audit_events WHERE seq = 3")


def _insert(db_url: str) -> None:
    """Make room at seq 3 and slip in a forged event that links and hashes correctly."""
    for seq in (5, 4, 3):
        run_sql(db_url, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    fields = {
        "seq": 3,
        "created_at": stored(db_url, 2).created_at,  # an earlier time would show at once
        "actor": "Mallory",
        "action": "golden",
        "model": "fraud",
        "version": "1.0.0",
        "before": None,
        "after": audit.canonical_json({"golden": "1.0.0"}),
        "reason": None,
        "prev_hash": stored(db_url, 2).hash,
    }
    run_sql(
        db_url,
        'INSERT INTO audit_events (seq, created_at, actor, action, model, version, "before", '
        '"after", reason, prev_hash, hash) VALUES (:seq, :created_at, :actor, :action, :model, '
        ":version, :before, :after, :reason, :prev_hash, :hash)",
        **fields,
        hash=audit.event_hash(**fields),
    )


def _reorder(db_url: str) -> None:
    run_sql(
        db_url,
        "UPDATE audit_events SET seq = 1000 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 1000",
    )


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_edit, "event 3 (register by Ada <ada@example.com>) was edited after it was written"),
        (_delete, "event 3 is missing: the chain jumps from 2 to 4 (an event was deleted)"),
        (_insert, "event 4 does not follow event 3"),
        (_reorder, "event 2 does not follow event 1"),
    ],
    ids=["edited", "deleted", "inserted", "reordered"],
)
def test_audit_verify_names_the_first_tampered_event(cli, db_url: str, tamper, expected) -> None:
    seed(db_url, 0.90, 0.91, 0.92)
    assert cli("promote", "fraud", "1.0.0", "--actor", "ada")[0] == 0
    assert cli("golden", "fraud", "1.0.0", "--actor", "ada")[0] == 0
    code, out, err = cli("audit", "verify")
    assert (code, out.strip().split("; head ")[0]) == (0, "5 events verified")
    assert out.strip().endswith(stored(db_url, 5).hash)
    assert err.startswith("warning: the chain is not keyed (MODELTRAIL_AUDIT_KEY is not set)")

    tamper(db_url)
    code, out, err = cli("audit", "verify")
    assert code == 1
    assert out == ""
    assert err.splitlines()[-1].startswith("error: audit trail broken: ")
    assert expected in err


def test_audit_verify_of_an_empty_registry(cli) -> None:
    code, out, _ = cli("audit", "verify")
    assert (code, out.strip()) == (0, "0 events verified; head 0:" + "0" * 64)


def test_audit_log_filters_by_model_and_prints_json(cli, db_url: str) -> None:
    seed(db_url, 0.90)
    with Registry.open(db_url) as registry:
        registry.register(VersionDraft("churn"), actor="bob")
    assert cli("promote", "fraud", "1.0.0", "--actor", "ada", "--reason", "go")[0] == 0

    code, out, _ = cli("audit", "log", "fraud", "--json")
    assert code == 0
    events = json.loads(out)
    assert [(e["seq"], e["action"], e["version"]) for e in events] == [
        (3, "promote", "1.0.0"),
        (1, "register", "1.0.0"),
    ]
    promote = events[0]
    assert (promote["actor"], promote["before"], promote["after"], promote["reason"]) == (
        "ada",
        {"stage": "none"},
        {"stage": "production"},
        "go",
    )
    assert dt.datetime.fromisoformat(promote["at"].replace("Z", "+00:00")).tzinfo is not None

    _, out, _ = cli("audit", "log")
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert (
        lines[0].startswith("#3")
        and "ada  promote fraud 1.0.0  none → production  — go" in lines[0]
    )
    assert "bob  register churn 1.0.0" in lines[1]


def test_actor_is_explicit_then_env_then_git_user_then_os_user(
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(db_url, 0.90)

    def last_actor(*args: str) -> str:
        code, _, err = cli("tag", "fraud", "1.0.0", "k=v", *args)
        assert code == 0, err
        return json.loads(cli("audit", "log", "-n", "1", "--json")[1])[0]["actor"]

    monkeypatch.setenv("MODELTRAIL_ACTOR", "ci-bot")
    assert last_actor("--actor", "ada") == "ada"
    assert last_actor() == "ci-bot"
    monkeypatch.delenv("MODELTRAIL_ACTOR")
    assert last_actor() == "Test Trainer <trainer@example.com>"  # the git user
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("USER", "osuser")
    monkeypatch.setenv("LOGNAME", "osuser")
    assert last_actor() == "osuser"


# -- reproduce -------------------------------------------------------------------------------------


def test_reproduce_prints_the_recipe_and_writes_it(cli, db_url: str, tmp_path: Path) -> None:
    seed(db_url, 0.90, dirty=True)
    code, out, err = cli("reproduce", "fraud", "1.0.0")
    assert code == 0, err
    assert "git clone https://git.example.com/risk/fraud.git fraud-1.0.0" in out
    assert f"git -C fraud-1.0.0 checkout {COMMIT}" in out
    assert "WARNING: 1.0.0 was trained from uncommitted changes (train.py)" in out
    assert f"train: data/train.csv (file, sha256 {hashlib.sha256(TRAIN).hexdigest()})" in out
    assert "dvc checkout data/features.parquet (or: dvc pull data/features.parquet)" in out
    assert (
        "pip install -r requirements.txt   # 2 pinned packages (--write DIR writes the file)" in out
    )
    assert "optimizer.lr = 0.01" in out and "epochs = 20" in out

    code, out, err = cli("reproduce", "fraud", "latest", "--write", "recipe")
    assert code == 0, err
    recipe = tmp_path / "recipe"
    assert "Wrote requirements.txt, params.yaml, verify-data.sh to recipe" in out
    assert (recipe / "requirements.txt").read_text() == "numpy==2.1.0\nscikit-learn==1.5.2\n"
    import yaml

    assert yaml.safe_load((recipe / "params.yaml").read_text()) == {
        "epochs": 20,
        "optimizer": {"lr": 0.01, "name": "adam"},
    }

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(TRAIN)
    verify = subprocess.run(
        ["sh", str(recipe / "verify-data.sh")], cwd=tmp_path, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "OK       data/train.csv" in verify.stdout and "all data matches" in verify.stdout
    (tmp_path / "data" / "train.csv").write_bytes(TRAIN + b"3,1\n")
    verify = subprocess.run(
        ["sh", str(recipe / "verify-data.sh")], cwd=tmp_path, capture_output=True, text=True
    )
    assert verify.returncode == 1
    assert "CHANGED  data/train.csv" in verify.stdout


def test_reproduce_without_lineage_says_so(cli, db_url: str) -> None:
    seed(db_url, 0.90, lineage=False)
    code, out, _ = cli("reproduce", "fraud", "1.0.0")
    assert code == 0
    assert "not recorded: this version was not trained inside a git repository" in out
    assert "none recorded" in out
    code, _, err = cli("reproduce", "fraud", "2.0.0")
    assert code == 1 and "no version 2.0.0" in err


# -- tags, notes, outbox ---------------------------------------------------------------------------


def test_tags_and_notes(cli, db_url: str) -> None:
    seed(db_url, 0.90)
    code, out, _ = cli("tag", "fraud", "1.0.0", "owner=risk", "tier=1")
    assert code == 0 and "2 tag(s) set, 0 removed" in out
    code, out, _ = cli("tag", "fraud", "1.0.0", "--remove", "tier")
    assert code == 0 and "0 tag(s) set, 1 removed" in out
    code, _, err = cli("tag", "fraud", "1.0.0")
    assert code == 2 and "KEY=VALUE" in err
    code, out, _ = cli("note", "fraud", "1.0.0", "approved by the board")
    assert code == 0 and "note added to fraud 1.0.0" in out
    with Registry.open(db_url) as registry:
        record = registry.load("fraud", "1.0.0")
    assert record.tags == {"owner": "risk"}
    assert [n.text for n in record.notes] == ["approved by the board"]


def test_outbox_list_and_retry(cli, db_url: str) -> None:
    seed(db_url, 0.90)
    assert cli("promote", "fraud", "1.0.0")[0] == 0
    code, out, _ = cli("outbox", "list")
    assert code == 0
    assert "counts: pending 2" in out
    assert "version.promoted fraud 1.0.0 attempts 0" in out
    run_sql(db_url, "UPDATE outbox SET status = 'dead', last_error = 'boom'")
    code, out, _ = cli("outbox", "list", "--status", "dead")
    assert "dead" in out and "— boom" in out
    code, out, _ = cli("outbox", "retry")
    assert code == 0 and "2 event(s) queued again" in out
