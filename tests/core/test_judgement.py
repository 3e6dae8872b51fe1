"""Issue 13, judgement items 20–25: no false alarms, no missed causes. Real registries (SQLite
and PostgreSQL), real git repositories in tmp dirs, the CLI and the HTTP router as they run.
Each test names the item it covers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import git

from modeltrail.bot.cli.main import main
from modeltrail.bot.slack.dispatcher import TOPICS as DISPATCHED
from modeltrail.bot.web.server import Router
from modeltrail.core import track
from modeltrail.core.config import Settings
from modeltrail.core.lifecycle.outbox import TOPICS, Outbox
from modeltrail.core.lifecycle.rules import GateRules
from modeltrail.core.metrics import default_metric_spec
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.compare import changelog, compare
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store.sqlite_reader import SqliteReader

ACTOR = "ana@example.com"


def draft(version: str, **metrics: float) -> VersionDraft:
    return VersionDraft(
        model="fraud",
        version=version,
        metric_points={name: [(0, value, 0.0)] for name, value in metrics.items()},
    )


# -- item 20: judged by name; counts and unknown names informational; relative tolerance ------


@pytest.mark.parametrize(
    ("name", "goal"),
    [
        ("n_rows", "none"),
        ("num_samples", "none"),
        ("row_count", "none"),
        ("rows", "none"),
        ("samples", "none"),
        ("n_errors", "none"),  # a count of errors is a fact, not a loss
        ("my_custom_thing", "none"),
        ("val_loss", "minimize"),
        ("p95_latency_ms", "minimize"),
        ("roc_auc", "maximize"),
        ("f1_macro", "maximize"),
    ],
)
def test_item20_a_metric_without_a_goal_is_judged_by_its_name(name: str, goal: str) -> None:
    spec = default_metric_spec(name)
    assert (spec.goal, spec.origin, spec.relative_tolerance) == (goal, "name", 0.001)


def test_item20_informational_metrics_never_regress_or_block(registry: Registry) -> None:
    # these bare drafts lack lineage; only metrics are judged here
    registry.register(draft("1.0.0", auc=0.9, n_rows=1000, my_custom_thing=5.0), actor=ACTOR)
    rules = GateRules(allow_kinds=("missing_lineage",))
    registry.set_gate_rules("fraud", rules, actor=ACTOR)
    registry.promote("fraud", "1.0.0", actor=ACTOR, force=True, reason="first")
    registry.register(draft("1.0.1", auc=0.9, n_rows=10, my_custom_thing=0.1), actor=ACTOR)
    diff = compare(registry, "fraud", "1.0.0", "1.0.1")
    verdicts = {m.name: (m.verdict, m.goal) for m in diff.metrics}
    assert verdicts == {
        "auc": ("unchanged", "maximize"),
        "my_custom_thing": ("changed", "none"),
        "n_rows": ("changed", "none"),
    }
    assert not diff.findings_of("metric_regression")
    decision = registry.judge("fraud", "1.0.1", baseline="1.0.0")
    assert decision.allowed and not decision.blocking
    registry.promote("fraud", "1.0.1", actor=ACTOR)  # no PromotionBlocked
    assert registry.resolve_version("fraud", "production") == "1.0.1"


def test_item20_default_tolerance_is_a_tenth_of_a_percent(registry: Registry) -> None:
    registry.register(draft("1.0.0", auc=0.9000), actor=ACTOR)
    registry.register(draft("1.0.1", auc=0.8995), actor=ACTOR)  # -0.056%: noise
    registry.register(draft("1.0.2", auc=0.8980), actor=ACTOR)  # -0.22%: a regression
    (noise,) = compare(registry, "fraud", "1.0.0", "1.0.1").metrics
    assert (noise.verdict, noise.tolerance) == ("unchanged", pytest.approx(0.0009))
    (worse,) = compare(registry, "fraud", "1.0.0", "1.0.2").metrics
    assert worse.verdict == "regressed"
    # a set tolerance widens it; the relative default still applies beneath it
    registry.set_metric_goal("fraud", "auc", "maximize", 0.005, actor=ACTOR)
    (set_one,) = compare(registry, "fraud", "1.0.0", "1.0.2").metrics
    assert (set_one.verdict, set_one.tolerance) == ("unchanged", 0.005)


def test_item20_show_says_the_goal_and_the_default_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(db) as registry:
        registry.register(draft("1.0.0", auc=0.9, n_rows=100), actor=ACTOR)
    assert main(["--db", db, "show", "fraud", "1.0.0"]) == 0
    text = capsys.readouterr().out
    assert "maximize (by name)" in text
    assert "informational (by name)" in text
    assert "±0.1% of the value" in text
    assert main(["--db", db, "show", "fraud", "1.0.0", "--json"]) == 0
    goals = json.loads(capsys.readouterr().out)["metric_goals"]
    assert goals["n_rows"] == {
        "goal": "none",
        "tolerance": 0.0,
        "relative_tolerance": 0.001,
        "origin": "name",
    }


# -- git-backed projects for items 21–23 ----------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("model.pkl\ndata/\n.modeltrail/\n")
    (repo / "train.py").write_text("print('train')\n")
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_text("x,y\n1,0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "train")
    return repo


def train(
    project: Path, db: str, *, auc: float, model: bytes = b"weights", parent: str | None = None
) -> Any:
    (project / "model.pkl").write_bytes(model)
    with track(
        "fraud", base_dir=project, database_url=db, parent=parent, capture_environment=False
    ) as run:
        run.log_params({"lr": 0.1})
        run.log_data("train", "data/train.csv")
        run.log_artifact("model.pkl")
        run.log_metric("auc", auc)
    return run.record


def test_item21_only_the_artifact_changed_is_nondeterminism_with_a_seed_hint(
    project: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    train(project, db, auc=0.9000, model=b"weights-run-1")
    train(project, db, auc=0.9004, model=b"weights-run-2")  # within 0.1%, new bytes
    with Registry.open(db) as registry:
        diff = compare(registry, "fraud", "1.0.0", "1.0.1")
    assert [m.verdict for m in diff.metrics] == ["unchanged"]
    (finding,) = diff.findings_of("unexplained_metric_change")
    assert finding.severity == "warning"
    assert "artifact model.pkl has a new digest" in finding.message
    assert "with metrics within tolerance" in finding.message
    assert "set a seed" in finding.message
    # the same bytes again: nothing to explain
    train(project, db, auc=0.9004, model=b"weights-run-2")
    with Registry.open(db) as registry:
        assert not compare(registry, "fraud", "1.0.1", "1.0.2").findings_of(
            "unexplained_metric_change"
        )


def test_item22_a_clean_version_defaults_to_the_newest_clean_parent(
    project: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert train(project, db, auc=0.90).code.dirty is False  # 1.0.0, clean
    (project / "scratch.txt").write_text("an experiment\n")
    dirty = train(project, db, auc=0.91)  # 1.0.1 from a dirty tree
    assert dirty.code.dirty and dirty.parent == "1.0.0"
    (project / "scratch.txt").unlink()
    clean = train(project, db, auc=0.92)  # 1.0.2, clean again
    assert clean.parent == "1.0.0"  # not the dirty 1.0.1
    with Registry.open(db) as registry:
        entries = {e.record.version: e for e in changelog(registry, "fraud")}
    assert entries["1.0.2"].diff is not None and entries["1.0.2"].diff.old_version == "1.0.0"


def test_item22_a_clean_version_changelog_never_says_uncommitted_code_changes(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    train(project, db, auc=0.90)
    (project / "scratch.txt").write_text("an experiment\n")
    train(project, db, auc=0.91)
    (project / "scratch.txt").unlink()
    train(project, db, auc=0.92, parent="1.0.1")  # a clean version whose parent was dirty
    assert main(["--db", db, "changelog", "fraud", "--format", "text"]) == 0
    text = capsys.readouterr().out
    entry = text[text.index("1.0.2 (") : text.index("1.0.1 (")]
    assert "uncommitted code changes" not in entry
    assert "committed code" in entry and "(1.0.1 had uncommitted changes)" in entry
    dirty_entry = text[text.index("1.0.1 (") : text.index("1.0.0 (")]
    assert "1.0.1 was trained from uncommitted changes" in dirty_entry


def test_item23_bump_reasons_say_what_changed(project: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    train(project, db, auc=0.90)
    (project / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n")
    train(project, db, auc=0.90)  # data only
    (project / "notes.txt").write_text("try a higher lr\n")
    train(project, db, auc=0.90)  # an untracked file
    (project / "tune.py").write_text("print('tune')\n")
    train(project, db, auc=0.90)  # an untracked source file
    with Registry.open(db) as registry:
        bumps = [
            compare(registry, "fraud", old, new).suggested_bump
            for old, new in (("1.0.0", "1.0.1"), ("1.0.1", "1.0.2"), ("1.0.2", "1.0.3"))
        ]
    assert [(b.level, b.reason) for b in bumps] == [
        ("patch", "data changed: train"),
        ("patch", "working tree changed"),
        ("minor", "working tree changed (uncommitted: notes.txt, tune.py)"),
    ]
    assert not any("code changed" in b.reason for b in bumps)


# -- item 24: show says golden, on the stdlib SQLite reader and on the Registry ----------------


def test_item24_show_says_golden_in_text_and_json(
    registry: Registry, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register(draft("1.0.0", auc=0.9), actor=ACTOR)
    registry.register(draft("1.0.1", auc=0.91), actor=ACTOR)
    registry.set_golden("fraud", "1.0.0", actor=ACTOR)
    assert registry.load("fraud", "1.0.0").golden is True
    assert registry.load("fraud", "1.0.1").golden is False
    reader = SqliteReader.open(Settings().with_overrides(database_url=db_url))
    if db_url.startswith("sqlite"):
        assert reader is not None  # `show` of a SQLite file reads through the stdlib
        with reader:
            assert reader.load("fraud", "1.0.0").golden is True
            assert reader.load("fraud", "1.0.1").golden is False
    else:
        assert reader is None  # PostgreSQL: `show` goes through the Registry
    for ref in ("1.0.0", "golden"):  # a named version is resolved by the Registry
        assert main(["--db", db_url, "show", "fraud", ref, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert (shown["version"], shown["golden"]) == ("1.0.0", True)
        assert main(["--db", db_url, "show", "fraud", ref]) == 0
        assert "[golden]" in capsys.readouterr().out
    assert main(["--db", db_url, "show", "fraud", "1.0.1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["golden"] is False


# -- item 25: no outbox topic without a consumer; /healthz shows only what can drain -----------


def test_item25_every_enqueued_topic_is_consumed(registry: Registry) -> None:
    assert set(TOPICS) == set(DISPATCHED)
    for i in range(5):
        registry.register(draft(f"1.0.{i}", auc=0.9 + i / 100), actor=ACTOR)
    registry.promote("fraud", "1.0.1", to="staging", actor=ACTOR)
    registry.promote("fraud", "1.0.4", actor=ACTOR, force=True, reason="baseline")
    registry.apply_retention("fraud", keep=1, actor=ACTOR)
    registry.set_golden("fraud", "1.0.4", actor=ACTOR)
    registry.retire("fraud", "1.0.2", actor=ACTOR, reason="bad data")
    topics = {e.topic for e in Outbox(registry.engine).events(limit=1000)}
    assert topics <= set(DISPATCHED)
    assert "version.staged" not in topics and "version.archived" not in topics


def _health(router: Router) -> dict[str, Any]:
    status: list[str] = []
    body = router({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, lambda s, h: status.append(s))
    assert status == ["200 OK"]
    return json.loads(b"".join(body))


def test_item25_healthz_never_reports_a_backlog_that_cannot_drain(registry: Registry) -> None:
    registry.register(draft("1.0.0", auc=0.9), actor=ACTOR)  # one pending version.registered
    with registry.engine.begin() as conn:  # a row an older release left behind
        conn.exec_driver_sql(
            "INSERT INTO outbox (created_at, topic, model, version, payload, idempotency_key, "
            "status, attempts, next_attempt_at) VALUES (CURRENT_TIMESTAMP, 'version.staged', "
            "'fraud', '1.0.0', '{}', 'old-row', 'pending', 0, CURRENT_TIMESTAMP)"
        )
    no_dispatcher = _health(Router(registry))
    assert (no_dispatcher["dispatcher"], no_dispatcher["outbox"]) == (False, {})
    draining = _health(Router(registry, drained_topics=TOPICS))
    assert (draining["dispatcher"], draining["outbox"]) == (True, {"pending": 1})


# -- item 18: changes inside a submodule's working tree change the dirty digest --------------


def test_item18_edits_inside_a_submodule_change_the_dirty_digest(tmp_path: Path) -> None:
    from modeltrail.core.capture.git import capture_code

    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    (lib / "features.py").write_text("WINDOW = 2\n")
    git(lib, "add", "-A")
    git(lib, "commit", "-q", "-m", "lib")
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "lib")
    git(repo, "commit", "-q", "-m", "with lib")
    assert capture_code(repo).dirty is False

    (repo / "lib" / "features.py").write_text("WINDOW = 3\n")
    first = capture_code(repo)
    (repo / "lib" / "features.py").write_text("WINDOW = 4\n")
    second = capture_code(repo)
    assert first.dirty and second.dirty and first.dirty_files == ("lib",)
    assert first.diff_digest != second.diff_digest
    (repo / "lib" / "features.py").write_text("WINDOW = 3\n")
    assert capture_code(repo).diff_digest == first.diff_digest  # same edit, same digest
    (repo / "lib" / "notes.txt").write_text("untracked inside the submodule\n")
    assert capture_code(repo).diff_digest != first.diff_digest
