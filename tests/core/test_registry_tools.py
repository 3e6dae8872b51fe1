"""The read-only registry tools: results, the tool-call dispatcher's handling of bad input,
that nothing writes, and speed on 1,000 versions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from ask_story import (
    COMMIT_2,
    COMMIT_3,
    DATA_A,
    DATA_B,
    INJECTION,
    MODEL,
    OTHER,
    seed_story,
    snapshot,
    ticking_clock,
)

from modeltrail.core.registry.compare import compare
from modeltrail.core.registry.tools import TOOL_NAMES, TOOL_SPECS, RegistryTools, call_tool
from modeltrail.core.registry.writer import Registry

READ_ONLY_TOOLS = {
    "list_models",
    "list_versions",
    "get_version",
    "get_stages",
    "compare_versions",
    "stage_history",
    "version_history",
    "best_version",
    "versions_using_data",
    "versions_at_commit",
    "metric_regressions",
    "audit_trail",
    "monitoring_status",
    "stage_at",
    "activity",
    "dirty_versions",
    "package_history",
    "param_history",
    "recovery_options",
    "metric_value",
}
# One valid call of every tool on the story registry.
VALID_CALLS: dict[str, dict[str, Any]] = {
    "list_models": {},
    "list_versions": {"model": MODEL, "limit": 3},
    "get_version": {"model": MODEL, "version": "v2.1.5"},
    "get_stages": {"model": MODEL},
    "compare_versions": {"model": MODEL, "old": "golden", "new": "production"},
    "stage_history": {"model": MODEL},
    "version_history": {"model": MODEL, "version": "2.1.5"},
    "best_version": {"model": MODEL, "metric": "val_loss"},
    "versions_using_data": {"digest": DATA_A[:10]},
    "versions_at_commit": {"commit": COMMIT_3[:8], "model": MODEL},
    "metric_regressions": {"model": MODEL, "metric": "auc"},
    "audit_trail": {"model": MODEL, "version": "2.1.5", "limit": 5},
    "monitoring_status": {"model": MODEL},
    "stage_at": {"model": MODEL, "at": "2026-11-20T09:20:00Z"},
    "activity": {"model": MODEL, "since": "2026-11-20T00:00:00Z", "person": "ben"},
    "dirty_versions": {"model": MODEL},
    "package_history": {"model": MODEL, "package": "numpy", "version": "2.1.5"},
    "param_history": {"model": MODEL, "param": "optimizer.lr"},
    "recovery_options": {"model": MODEL},
    "metric_value": {"model": MODEL, "metric": "auc", "version": "golden"},
}


@pytest.fixture
def story(db_url: str) -> Any:
    registry = Registry.open(db_url, clock=ticking_clock())
    seed_story(registry)
    yield registry
    registry.close()


def test_the_specs_describe_only_read_only_tools() -> None:
    assert set(TOOL_NAMES) == READ_ONLY_TOOLS == set(VALID_CALLS)
    for spec in TOOL_SPECS:
        assert spec["type"] == "function"
        function = spec["function"]
        assert function["description"] and len(function["description"]) < 400
        parameters = function["parameters"]
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        for prop in parameters["properties"].values():
            assert prop["type"] in ("string", "integer") and prop["description"]
    json.dumps(TOOL_SPECS)  # plain JSON, ready for the API
    for verb in ("promote", "rollback", "retire", "golden", "register", "tag", "note", "set_"):
        assert not any(name.startswith(verb) for name in TOOL_NAMES)
        assert not hasattr(RegistryTools, verb)


def test_every_tool_answers_and_nothing_changes(story: Registry) -> None:
    tools = RegistryTools(story)
    before = snapshot(story)
    for name, arguments in VALID_CALLS.items():
        result = call_tool(tools, name, json.dumps(arguments))
        assert "error" not in result, (name, result)
        assert json.loads(json.dumps(result, allow_nan=False)) == result  # JSON-safe
    assert snapshot(story) == before
    assert story.verify_audit().ok


def test_tool_results(story: Registry) -> None:
    tools = RegistryTools(story)
    stages = tools.get_stages(MODEL)
    assert stages["production"]["version"] == "2.1.4"
    assert stages["production"]["by"] == "dana"
    assert stages["golden"]["version"] == "2.1.3" and stages["golden"]["by"] == "erin"
    assert stages["staging"] == ["2.1.6"] and stages["latest"] == "2.1.6"
    assert stages["rollback_target"] == "2.1.3"

    version = tools.get_version(MODEL, "production")
    assert version["version"] == "2.1.4" and version["metrics"] == {"auc": 0.912, "val_loss": 0.3}
    assert version["code"]["commit"] == COMMIT_2 and version["data"][0]["digest"] == DATA_A

    best = tools.best_version(MODEL, "val_loss")
    assert best["goal"] == "minimize" and best["best"]["version"] == "2.1.6"
    assert [r["version"] for r in best["ranking"]] == ["2.1.6", "2.1.4", "2.1.3", "2.1.5", "2.0.9"]
    assert tools.best_version(MODEL, "val_loss", order="highest")["best"]["version"] == "2.0.9"

    data = tools.versions_using_data("sha256:" + DATA_B.upper())
    assert [(m["model"], m["version"]) for m in data["matches"]] == [
        (MODEL, "2.1.6"),
        (MODEL, "2.1.5"),
    ]
    assert tools.versions_using_data(DATA_A[:6], model=OTHER)["total"] == 0
    commit = tools.versions_at_commit(COMMIT_3)
    assert [m["version"] for m in commit["matches"]] == ["2.1.6", "2.1.5"]

    history = tools.version_history(MODEL, "2.1.5")
    assert history["registered"]["by"] == "ben"
    actions = [(e["action"], e.get("to_stage")) for e in history["events"]]
    assert actions == [
        ("register", None), ("promote", "production"), ("rollback", "archived"), ("note", None)
    ]  # fmt: skip
    assert history["events"][-1]["note"] == INJECTION

    periods = tools.stage_history(MODEL)["periods"]
    assert [p["version"] for p in periods] == ["2.1.4", "2.1.5", "2.1.4", "2.1.3"]

    diff = tools.compare_versions(MODEL, new="2.1.5")
    assert (diff["from"], diff["to"]) == ("2.1.4", "2.1.5")
    assert {f["kind"] for f in diff["findings"]} >= {"metric_regression"}


def test_regressions_agree_with_diff_versions(story: Registry) -> None:
    """The walk over parents gives the verdicts a full diff of each pair gives."""
    found = RegistryTools(story).metric_regressions(MODEL)
    expected = []
    for record in sorted(
        story.load_many(MODEL), key=lambda r: tuple(map(int, r.version.split(".")))
    ):
        if record.parent is None:
            continue
        diff = compare(story, MODEL, record.parent, record.version, git=False)
        expected += [(record.version, m.name) for m in diff.metrics if m.verdict == "regressed"]
    assert [(r["version"], r["metric"]) for r in found["regressions"]] == expected
    assert expected == [("2.1.5", "auc"), ("2.1.5", "val_loss")]
    assert found["pairs_checked"] == 4


BAD_CALLS = [
    ("promote", '{"model": "fraud-detector", "version": "9.9.9"}', "no tool 'promote'"),
    ("set_golden", "{}", "there is no tool"),
    ("get_version", "{not json", "not valid JSON"),
    ("get_version", "[1, 2]", "must be a JSON object"),
    ("get_version", '{"model": "fraud-detector"}', "missing argument 'version'"),
    ("get_version", '{"model": 7, "version": "2.1.5"}', "model must be a string"),
    ("get_version", '{"model": "fraud-detector", "version": "2.1.5", "x": 1}', "unknown"),
    ("list_versions", '{"model": "fraud-detector", "limit": "3"}', "limit must be an integer"),
    ("list_versions", '{"model": "fraud-detector", "limit": 0}', "between 1 and 100"),
    ("list_versions", '{"model": "fraud-detector", "limit": true}', "must be an integer"),
    ("best_version", '{"model": "fraud-detector", "metric": "auc", "order": "up"}', "one of"),
    ("get_version", '{"model": "nope", "version": "1.0.0"}', "no model named 'nope'"),
    ("get_version", '{"model": "fraud-detector", "version": "9.9.9"}', "has no version 9.9.9"),
    ("get_version", '{"model": "fraud-detector", "version": "banana"}', "not a version number"),
    ("get_version", '{"model": "churn", "version": "golden"}', "churn has no golden version"),
    ("best_version", '{"model": "fraud-detector", "metric": "recall"}', "no metric 'recall'"),
    ("metric_regressions", '{"model": "fraud-detector", "metric": "x"}', "no metric 'x'"),
    ("versions_using_data", '{"digest": "not-hex!"}', "is not a digest"),
    ("versions_at_commit", '{"commit": "abc"}', "at least 4 characters"),
    ("audit_trail", '{"version": "2.1.5"}', "a version needs its model"),
]  # fmt: skip


def test_bad_input_is_an_error_result_never_an_exception(story: Registry) -> None:
    tools = RegistryTools(story)
    before = snapshot(story)
    for name, arguments, error in BAD_CALLS:
        result = call_tool(tools, name, arguments)
        assert set(result) <= {"error", "hint"}, (name, arguments, result)
        assert error in result["error"], (name, arguments, result)
    # null and empty arguments mean "not given"
    assert call_tool(tools, "list_models", "")["models"]
    assert call_tool(tools, "list_models", None)["models"]
    result = call_tool(tools, "compare_versions", {"model": MODEL, "old": None, "new": None})
    assert (result["from"], result["to"]) == ("2.1.5", "2.1.6")
    assert snapshot(story) == before


def test_the_injected_note_is_data_and_changes_nothing(story: Registry) -> None:
    """A note that gives orders comes back as a quoted string; acting on it is impossible."""
    tools = RegistryTools(story)
    before = snapshot(story)
    result = call_tool(tools, "get_version", json.dumps({"model": MODEL, "version": "2.1.5"}))
    assert result["notes"][0]["text"] == INJECTION
    assert json.dumps(INJECTION) in json.dumps(result)  # JSON-quoted, as the model receives it
    attempts = [
        ("promote", {"model": MODEL, "version": "9.9.9"}),
        ("promote_version", {"model": MODEL, "version": "2.1.5"}),
        ("rollback", {"model": MODEL}),
        ("get_version", {"model": MODEL, "version": "9.9.9"}),
    ]
    for name, arguments in attempts:
        assert "error" in call_tool(tools, name, json.dumps(arguments))
    assert snapshot(story) == before
    assert story.stage_version(MODEL, "production") == "2.1.4"


# -- 1,000 versions ---------------------------------------------------------------------------


def _bulk_registry(path: str, count: int = 1000) -> Registry:
    """A registry of `count` versions written straight into the tables (registering them one
    by one would take most of the suite's time budget)."""
    from sqlalchemy import insert

    from modeltrail.core.store import schema

    registry = Registry.open(f"sqlite:///{path}")
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with registry.engine.begin() as conn:
        model_id = conn.execute(
            insert(schema.models).returning(schema.models.c.id),
            {"name": "big", "created_at": now, "updated_at": now},
        ).scalar_one()
        rows = [
            {
                "id": i + 1, "model_id": model_id, "version": f"1.{i // 100}.{i % 100}",
                "major": 1, "minor": i // 100, "patch": i % 100, "created_at": now,
                "actor": "ci", "stage": "none", "parent_id": i or None,
                "code_commit": hashlib.sha1(str(i // 3).encode()).hexdigest(),
            }
            for i in range(count)
        ]  # fmt: skip
        conn.execute(insert(schema.versions), rows)
        conn.execute(
            insert(schema.metrics),
            [
                {"version_id": i + 1, "name": name, "value": value, "step": 0,
                 "timestamp": 0.0, "history_count": 1}
                for i in range(count)
                for name, value in (("auc", 0.5 + (i % 7) / 100), ("loss", 1 - (i % 5) / 10))
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.data_snapshots),
            [
                {"version_id": i + 1, "role": "train", "position": 0, "path": "t.csv",
                 "kind": "file", "digest": hashlib.sha256(str(i // 10).encode()).hexdigest()}
                for i in range(count)
            ],
        )  # fmt: skip
    return registry


def test_tools_stay_fast_on_a_thousand_versions(tmp_path: Any) -> None:
    registry = _bulk_registry(str(tmp_path / "big.db"))
    tools = RegistryTools(registry)
    calls = {
        "metric_regressions": {"model": "big"},
        "best_version": {"model": "big", "metric": "loss"},
        "versions_using_data": {"digest": hashlib.sha256(b"42").hexdigest()[:8]},
        "versions_at_commit": {"commit": hashlib.sha1(b"77").hexdigest()[:8]},
        "list_versions": {"model": "big"},
        "get_stages": {"model": "big"},
        "stage_history": {"model": "big"},
        "version_history": {"model": "big", "version": "latest"},
        "compare_versions": {"model": "big"},
        "get_version": {"model": "big", "version": "1.5.0"},
        "list_models": {},
        "audit_trail": {"model": "big"},
    }
    try:
        for name, arguments in calls.items():
            result = call_tool(tools, name, json.dumps(arguments))
            assert "error" not in result, (name, result)
        assert tools.list_versions("big")["total"] == 1000
        regressions = tools.metric_regressions("big")
        assert regressions["pairs_checked"] == 999 and regressions["total"] > 100
        assert tools.versions_using_data(hashlib.sha256(b"42").hexdigest())["total"] == 10
        assert tools.versions_at_commit(hashlib.sha1(b"77").hexdigest())["total"] == 3
    finally:
        registry.close()
