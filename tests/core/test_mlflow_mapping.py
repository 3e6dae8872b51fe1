"""The pure rules that turn an MLflow version into a modeltrail version."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from modeltrail.bot.integrations.mlflow_draft import (
    build_draft,
    param_value,
    parse_python_env,
    parse_requirements,
    plan_update,
)
from modeltrail.bot.integrations.mlflow_mapping import (
    AliasRule,
    MlflowDataset,
    MlflowLoggedModel,
    MlflowRun,
    MlflowVersion,
    VersionRule,
    known_aliases,
    modeltrail_model_name,
    plan_stage_moves,
    plan_stages,
    stage_move,
)
from modeltrail.core.errors import ConfigError
from modeltrail.core.versioning import SemVer, sort_versions


def test_version_rule_orders_as_mlflow_and_leaves_patches_free() -> None:
    rule = VersionRule()
    assert [rule.semver(n) for n in (1, 2, 9, 10)] == ["1.1.0", "1.2.0", "1.9.0", "1.10.0"]
    numbers = [rule.semver(n) for n in (10, 2, 1, 9)]
    assert sort_versions(numbers) == ["1.1.0", "1.2.0", "1.9.0", "1.10.0"]
    # a native version registered after an import (next patch) sorts before the next import
    assert SemVer.parse("1.2.0").next_patch() < SemVer.parse(rule.semver(3))
    assert VersionRule.parse("{N}.0.0").semver(7) == "7.0.0"
    assert VersionRule.parse("2.0.{N}").semver(7) == "2.0.7"
    assert VersionRule.parse(None).template == "1.{N}.0"


@pytest.mark.parametrize("bad", ["1.0", "1.{N}.{N}", "1.0.0", "v1.{N}.0", "01.{N}.0", "x.{N}.0"])
def test_bad_version_templates_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="version template"):
        VersionRule.parse(bad)


def test_alias_rule_default_and_configured() -> None:
    rule = AliasRule()
    assert rule.stage_for("Champion") == "production"
    assert rule.stage_for("challenger") == "staging"
    assert rule.stage_for("shadow") is None
    custom = AliasRule.parse("live=production, canary=staging,champion=none")
    assert (custom.stage_for("live"), custom.stage_for("canary")) == ("production", "staging")
    assert custom.stage_for("champion") is None
    assert AliasRule.parse("") == AliasRule()
    with pytest.raises(ConfigError, match="alias rule"):
        AliasRule.parse("champion=prod")


def test_model_names_are_made_valid() -> None:
    assert modeltrail_model_name("fraud-detector") == "fraud-detector"
    assert modeltrail_model_name("churn model") == "churn-model"
    assert modeltrail_model_name("main.ml.fraud") == "main.ml.fraud"
    assert modeltrail_model_name("  ünïcode: v2 ") == "n-code-v2"
    assert modeltrail_model_name("_private")[0].isalnum()


def version(n: int, *aliases: str, stage: str | None = None) -> MlflowVersion:
    return MlflowVersion(model="m", version=n, aliases=aliases, current_stage=stage)


def test_stages_from_aliases_one_production_highest_wins() -> None:
    versions = [
        version(1, "production"),
        version(2, "champion"),
        version(3, "challenger", "shadow"),
        version(4, stage="Staging"),  # a legacy stage counts like an alias
    ]
    wanted = plan_stages(versions, AliasRule())
    assert wanted == {
        2: ("production", "champion"),
        3: ("staging", "challenger"),
        4: ("staging", "staging"),
    }


def test_stage_moves_only_forward_and_only_for_new_aliases() -> None:
    assert stage_move("none", "production") == "production"
    assert stage_move("archived", "staging") == "staging"
    assert stage_move("production", "staging") is None  # never demote
    assert stage_move("staging", "staging") is None
    wanted = {1: ("staging", "challenger"), 2: ("production", "champion"), 3: ("staging", "x")}
    moves = plan_stage_moves(
        wanted,
        previous_aliases={1: None, 2: set(), 3: {"x"}},
        current={1: "none", 2: "staging", 3: "none"},
    )
    assert moves == [(1, "staging", "challenger"), (2, "production", "champion")]
    # a rollback here archived 2 while MLflow still says champion: not undone
    assert (
        plan_stage_moves(
            {2: ("production", "champion")},
            previous_aliases={2: {"champion"}},
            current={2: "archived"},
        )
        == []
    )
    assert known_aliases({"mlflow.aliases": "champion,x", "mlflow.stage": "Production"}) == {
        "champion",
        "x",
        "production",
    }


RUN = MlflowRun(
    run_id="r1",
    experiment_id="3",
    params={"lr": "0.01", "layers": "[64, 32]", "name": "adam", "flag": "true"},
    metrics={
        "loss": [(2, 0.2, 3000), (0, 0.9, 1000), (1, 0.5, 2000)],
        "bad": [(0, math.nan, 1000)],
    },
    tags={
        "mlflow.source.git.commit": "c" * 40,
        "mlflow.source.git.branch": "main",
        "mlflow.source.git.repoURL": "https://tok@github.com/acme/x.git",
        "mlflow.user": "alice",
        "mlflow.log-model.history": "[...]",
        "mlflow.note.content": "run notes",
        "team": "risk",
    },
    datasets=(
        MlflowDataset("iris", "abc123", "s3", '{"uri": "s3://b/iris.csv?token=x"}', "training"),
        MlflowDataset("holdout", None, "code", "{}", None),
    ),
    user="alice",
)


def test_build_draft_maps_every_piece() -> None:
    mv = MlflowVersion(
        model="fraud",
        version=4,
        aliases=("champion",),
        tags={"validated": "yes"},
        source="models:/m-123",
        run_id="r1",
        run=RUN,
        requirements="numpy==2.0.1\nrequests>=2\n-e .\n",
        python_env="python: 3.10.4\ndependencies:\n- -r requirements.txt\n- pandas==2.2.0\n",
    )
    mapped = build_draft(mv, model="fraud", rule=VersionRule(), tracking_uri="http://u:p@h:5000")
    draft = mapped.draft
    assert draft.version == "1.4.0"
    assert draft.params == {"lr": 0.01, "layers": [64, 32], "name": "adam", "flag": True}
    assert [p[:2] for p in draft.metric_points["loss"]] == [(0, 0.9), (1, 0.5), (2, 0.2)]
    assert draft.metric_points["loss"][-1][2] == 3.0
    assert "bad" not in draft.metric_points and "NaN" in mapped.warnings[0]
    assert {d.role: (d.path, d.digest) for d in draft.data} == {
        "training.iris": ("s3://b/iris.csv", "mlflow:abc123"),
        "holdout": ("mlflow-dataset:code/holdout", None),
    }
    assert draft.code is not None
    assert (draft.code.commit, draft.code.branch, draft.code.remote_url) == (
        "c" * 40,
        "main",
        "https://github.com/acme/x.git",
    )
    assert draft.environment is not None
    assert draft.environment.python_version == "3.10.4"
    assert dict(draft.environment.packages) == {"numpy": "2.0.1", "pandas": "2.2.0"}
    assert draft.description == "run notes"
    assert draft.artifacts[0].uri == "models:/m-123"
    assert draft.tags["mlflow.model_name"] == "fraud"
    assert draft.tags["mlflow.version"] == "4"
    assert draft.tags["mlflow.run_id"] == "r1"
    assert draft.tags["mlflow.aliases"] == "champion"
    assert draft.tags["mlflow.tracking_uri"] == "http://h:5000"
    assert draft.tags["validated"] == "yes" and draft.tags["team"] == "risk"
    assert "mlflow.log-model.history" not in draft.tags
    assert "tok" not in draft.tags["mlflow.source.git.repoURL"]


def test_a_version_without_run_or_files() -> None:
    draft = build_draft(MlflowVersion(model="m", version=1), model="m", rule=VersionRule()).draft
    assert draft.params == {} and draft.code is None and draft.environment is None
    assert draft.tags["mlflow.version"] == "1" and "mlflow.run_id" not in draft.tags


def test_requirement_and_python_env_parsing() -> None:
    assert parse_requirements(
        "A==1\nb-c==2.0 ; python_version>'3'\nd\ne>=1\n# x\n--index-url y"
    ) == {
        "A": "1",
        "b-c": "2.0",
    }
    assert parse_python_env("python: '3.11'\ndependencies: [x==1]") == ("3.11", {"x": "1"})
    assert parse_python_env(": not yaml :") == (None, {})


def test_plan_update_sees_tag_alias_and_description_changes() -> None:
    mv = MlflowVersion(
        model="m", version=1, aliases=("champion",), tags={"k": "2"}, description="new words"
    )
    plan = plan_update(
        mv,
        tags={"k": "1", "mlflow.aliases": ""},
        description="old words",
        notes=[],
    )
    assert dict(plan.set_tags) == {"k": "2", "mlflow.aliases": "champion"}
    assert plan.note == "MLflow description: new words"
    same = plan_update(
        mv,
        tags={"k": "2", "mlflow.aliases": "champion"},
        description="old words",
        notes=["MLflow description: new words"],
    )
    assert same.is_empty


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.01", 0.01),
        ("3", 3),
        ("true", True),
        ("null", None),
        ("[64, 32]", [64, 32]),
        ("NaN", "NaN"),
        ("nan", "nan"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e999", "1e999"),
        ("[1, NaN]", "[1, NaN]"),
        ('{"depth": 3}', '{"depth": 3}'),
        ('[{"a": 1}]', '[{"a": 1}]'),
        ('"quoted"', '"quoted"'),
        ("True", "True"),
        ("adam", "adam"),
        ("[" * 5000, "[" * 5000),
    ],
)
def test_param_values_are_json_scalars_or_lists_else_the_text(text: str, value: object) -> None:
    assert param_value(text) == value


def test_time_actor_logged_model_and_registered_model_facts() -> None:
    logged = MlflowLoggedModel(
        model_id="m-1",
        name="clf",
        params={"lr": "0.5", "calibrated": "false"},  # the model's lr wins over the run's
        metrics={"val_auc": [(0, 0.9, 5000)], "loss": [(0, 9.0, 5000)]},
        tags={"framework": "sklearn", "mlflow.user": "ci-bot", "mlflow.modelVersions": "[]"},
        artifact_location="s3://bucket/models/m-1/artifacts",
    )
    mv = MlflowVersion(
        model="fraud",
        version=2,
        source="models:/m-1",
        created_ms=1_796_000_000_123,
        run=dataclasses.replace(RUN, start_ms=1_795_999_000_000),
        logged_model=logged,
        model_description="Fraud scores",
        model_tags={"owner": "risk"},
        environment_error="mlflow-artifacts:/1/m-1/artifacts: no server",
    )
    mapped = build_draft(mv, model="fraud", rule=VersionRule())
    draft = mapped.draft
    assert draft.created_at == dt.datetime(2026, 11, 30, 0, 53, 20, 123000, tzinfo=dt.UTC)
    assert draft.actor == "alice"  # the run's mlflow.user, not the model's tag
    assert draft.params["lr"] == 0.5 and draft.params["calibrated"] is False
    assert draft.params["layers"] == [64, 32]  # the run's
    assert draft.metric_points["val_auc"][-1][1] == 0.9
    assert draft.metric_points["loss"][-1][1] == 0.2  # the run's whole history is kept
    assert draft.tags["framework"] == "sklearn" and draft.tags["mlflow.user"] == "alice"
    assert "mlflow.modelVersions" not in draft.tags
    assert draft.tags["mlflow.registered_model.description"] == "Fraud scores"
    assert draft.tags["mlflow.registered_model.tag.owner"] == "risk"
    assert draft.tags["mlflow.run.start_time"] == "2026-11-30T00:36:40.000+00:00"
    assert "mlflow.run.end_time" not in draft.tags
    assert draft.artifacts[0].uri == "s3://bucket/models/m-1/artifacts"
    assert mv.logged_model_id == "m-1"
    assert any(w.startswith("fraud 2: the environment could not be read") for w in mapped.warnings)
    bare = build_draft(MlflowVersion(model="m", version=1), model="m", rule=VersionRule()).draft
    assert bare.created_at is None and bare.actor is None
