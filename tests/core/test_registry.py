"""The registry core through its public methods, on SQLite and on PostgreSQL.

Every test here takes the `registry` fixture, so it runs once per backend on a fresh database.
Drafts are built by hand; tests/core/test_tracking.py covers the capture path.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import func, select

from modeltrail.core.errors import (
    DuplicateVersionError,
    InvalidMetricError,
    InvalidNameError,
    InvalidParamError,
    InvalidVersionError,
    ModelNotFoundError,
    UsageError,
    VersionNotFoundError,
)
from modeltrail.core.metrics import default_metric_spec
from modeltrail.core.records import (
    Artifact,
    CodeState,
    DataSnapshot,
    Environment,
    ManifestEntry,
    MetricPoint,
    MetricSpec,
    VersionDraft,
)
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema

T0 = 1_790_000_000.25  # a fixed epoch second with a fraction
ACTOR = "Ada <ada@example.com>"


def draft(model: str = "fraud", **fields: Any) -> VersionDraft:
    return VersionDraft(model=model, **fields)


def register(registry: Registry, model: str = "fraud", **fields: Any) -> str:
    return registry.register(draft(model, **fields), actor=ACTOR).version


def table_counts(registry: Registry) -> dict[str, int]:
    with registry.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in schema.metadata.sorted_tables
        }


def versions_of(registry: Registry, model: str = "fraud") -> list[str]:
    return [v.version for v in registry.list_versions(model)]


# -- params and metrics ---------------------------------------------------------------------


def test_params_are_flattened_and_keep_their_json_types(registry: Registry) -> None:
    params = {
        "optimizer": {"name": "adam", "lr": 0.01, "betas": (0.9, 0.999), "options": {}},
        "epochs": 10,
        "ratio": 1.0,
        "big": 2**53 + 1,
        "use_gpu": True,
        "checkpoint": None,
        "layers": [64, 32],
        "blocks": [{"units": 8}],
        "label": "naïve 🚀",
    }
    record = registry.register(draft(params=params), actor=ACTOR)
    loaded = registry.load("fraud", record.version)
    expected = {
        "optimizer.name": "adam",
        "optimizer.lr": 0.01,
        "optimizer.betas": [0.9, 0.999],
        "optimizer.options": {},
        "epochs": 10,
        "ratio": 1.0,
        "big": 2**53 + 1,
        "use_gpu": True,
        "checkpoint": None,
        "layers": [64, 32],
        "blocks": [{"units": 8}],
        "label": "naïve 🚀",
    }
    assert dict(loaded.params) == expected
    assert dict(record.params) == expected
    types = {key: type(value) for key, value in loaded.params.items()}
    assert types["epochs"] is int
    assert types["ratio"] is float  # 1.0 does not come back as 1
    assert types["big"] is int
    assert types["use_gpu"] is bool
    assert types["optimizer.betas"] is list


def test_metrics_keep_final_value_and_full_history(registry: Registry) -> None:
    loss = [(0, 0.9, T0), (1, 0.5, T0 + 1.5), (5, 0.25, T0 + 3.0)]
    accuracy = [(0, 1, T0)]  # an int value is stored as a float
    record = registry.register(
        draft(metric_points={"loss": loss, "accuracy": accuracy}), actor=ACTOR
    )
    assert record.metric_values() == {"loss": 0.25, "accuracy": 1.0}

    plain = registry.load("fraud", "1.0.0")
    final = plain.metrics["loss"]
    assert (final.value, final.step, final.history_count) == (0.25, 5, 3)
    assert final.timestamp == dt.datetime.fromtimestamp(T0 + 3.0, dt.UTC)
    assert final.history is None  # not loaded unless asked

    full = registry.load("fraud", "1.0.0", history=True)
    assert full.metrics["loss"].history == tuple(
        MetricPoint(step, value, dt.datetime.fromtimestamp(stamp, dt.UTC))
        for step, value, stamp in loss
    )
    for point in full.metrics["loss"].history or ():
        assert point.timestamp.utcoffset() == dt.timedelta(0)
    assert full.metrics["accuracy"].value == 1.0
    assert type(full.metrics["accuracy"].value) is float
    assert registry.metric_history("fraud", "1.0.0", "loss") == full.metrics["loss"].history
    with pytest.raises(InvalidMetricError, match="no metric 'nope'"):
        registry.metric_history("fraud", "1.0.0", "nope")


def test_a_long_history_round_trips_in_order(registry: Registry) -> None:
    points = [(step, 1.0 / (step + 1), T0 + step) for step in range(5_000)]
    registry.register(draft(metric_points={"loss": points}), actor=ACTOR)
    history = registry.load("fraud", "1.0.0", history=True).metrics["loss"].history
    assert history is not None and len(history) == 5_000
    assert [p.step for p in history] == list(range(5_000))
    assert history[-1].value == 1.0 / 5_000


def test_non_finite_or_non_numeric_metric_is_rejected_and_nothing_written(
    registry: Registry,
) -> None:
    register(registry, params={"seed": 1})
    before = table_counts(registry)
    for bad in (math.nan, math.inf, -math.inf, True, "lots", None):
        points = {"accuracy": [(0, 0.5, T0)], "val_loss": [(0, 0.4, T0), (1, bad, T0)]}
        with pytest.raises(InvalidMetricError, match="'val_loss'"):
            registry.register(draft(params={"seed": 2}, metric_points=points), actor=ACTOR)
    assert table_counts(registry) == before
    assert registry.verify_audit().events_checked == 1


def test_non_integer_step_is_rejected(registry: Registry) -> None:
    with pytest.raises(InvalidMetricError, match="'loss' has step 1.5"):
        register(registry, metric_points={"loss": [(1.5, 0.3, T0)]})
    with pytest.raises(ModelNotFoundError):
        registry.count_versions("fraud")


def test_non_serialisable_param_is_rejected_naming_the_key(registry: Registry) -> None:
    before = table_counts(registry)
    with pytest.raises(InvalidParamError, match=r"'model\.loss_fn'"):
        register(registry, params={"model": {"loss_fn": object()}, "seed": 1})
    with pytest.raises(InvalidParamError, match="'lr'"):
        register(registry, params={"lr": math.nan})
    assert table_counts(registry) == before
    assert registry.list_models() == []


def test_invalid_model_name_is_rejected(registry: Registry) -> None:
    for name in ("", "has space", "-leading-dash", "x" * 201):
        with pytest.raises(InvalidNameError):
            register(registry, model=name)
    assert registry.list_models() == []


def test_data_roles_and_artifact_names_must_be_unique(registry: Registry) -> None:
    snap = DataSnapshot("train", "a.csv", "file", "0" * 64, 1, 1)
    with pytest.raises(UsageError, match="'train'"):
        register(registry, data=(snap, snap))
    art = Artifact("model.pkl", "model.pkl", None, None)
    with pytest.raises(UsageError, match="'model.pkl'"):
        register(registry, artifacts=(art, art))
    assert registry.list_models() == []


# -- version numbers ------------------------------------------------------------------------


def test_versions_number_from_1_0_0_by_patch(registry: Registry) -> None:
    assert [register(registry) for _ in range(3)] == ["1.0.0", "1.0.1", "1.0.2"]
    assert register(registry, version="2.1.5") == "2.1.5"
    assert register(registry) == "2.1.6"
    assert register(registry, version="v3.0.0") == "3.0.0"  # the leading v is dropped
    assert registry.latest_version("fraud") == "3.0.0"
    assert registry.load("fraud", "v2.1.5").version == "2.1.5"
    assert registry.count_versions("fraud") == 6


def test_version_numbers_beyond_the_integer_columns_are_rejected(registry: Registry) -> None:
    before = table_counts(registry)
    for huge in ("1.0.2147483648", "99999999999999999999999.0.0"):
        with pytest.raises(InvalidVersionError):
            register(registry, version=huge)
    assert table_counts(registry) == before
    assert register(registry, version="1.0.2147483647") == "1.0.2147483647"


def test_overlong_values_are_a_clear_error_where_the_database_limits_them(
    registry: Registry,
) -> None:
    """PostgreSQL enforces the column sizes SQLite ignores; either way no raw driver error."""
    long_key = "k" * 300
    try:
        record = registry.register(draft(tags={long_key: "v"}), actor=ACTOR)
    except UsageError as exc:
        assert registry.engine.dialect.name == "postgresql"
        assert "too long" in str(exc)
        assert registry.list_models() == []
    else:
        assert registry.engine.dialect.name == "sqlite"
        assert dict(record.tags) == {long_key: "v"}


def test_models_number_independently(registry: Registry) -> None:
    register(registry, "a")
    register(registry, "a")
    assert register(registry, "b") == "1.0.0"


def test_malformed_version_is_rejected_before_writing(registry: Registry) -> None:
    register(registry)
    before = table_counts(registry)
    for bad in ("2.1", "1.0.0-rc1", "01.0.0", "1.0.0.0", "abc", "", "-1.0.0", "V1.0.0"):
        with pytest.raises(InvalidVersionError, match="not a version number"):
            register(registry, version=bad)
    assert table_counts(registry) == before


def test_duplicate_explicit_version_is_rejected_and_nothing_half_written(
    registry: Registry,
) -> None:
    register(registry, version="2.1.5", params={"a": 1})
    before = table_counts(registry)
    for spelling in ("2.1.5", "v2.1.5"):
        with pytest.raises(DuplicateVersionError) as info:
            register(
                registry,
                version=spelling,
                params={"a": 2, "b": 3},
                metric_points={"loss": [(0, 0.1, T0)]},
                tags={"team": "risk"},
            )
        assert (info.value.model, info.value.version) == ("fraud", "2.1.5")
    assert table_counts(registry) == before
    assert dict(registry.load("fraud", "2.1.5").params) == {"a": 1}
    assert registry.verify_audit().ok


def test_duplicate_explicit_version_of_a_new_model_leaves_no_model_row(
    registry: Registry,
) -> None:
    register(registry, "other", version="1.0.0")
    with pytest.raises(VersionNotFoundError):
        register(registry, "fresh", parent="4.0.0")
    assert [m.name for m in registry.list_models()] == ["other"]


def test_versions_order_by_semver_not_text(registry: Registry) -> None:
    for version in ("2.9.0", "2.10.0", "2.2.0", "10.0.0", "9.99.99"):
        register(registry, version=version)
    assert versions_of(registry) == ["10.0.0", "9.99.99", "2.10.0", "2.9.0", "2.2.0"]
    assert registry.latest_version("fraud") == "10.0.0"
    assert register(registry) == "10.0.1"


def test_next_auto_version_follows_the_newest_not_the_last_registered(
    registry: Registry,
) -> None:
    register(registry, version="2.10.0")
    register(registry, version="2.9.0")
    assert register(registry) == "2.10.1"


def test_list_versions_newest_first_with_limit(registry: Registry) -> None:
    for _ in range(5):
        register(registry, description="weekly")
    summaries = registry.list_versions("fraud", limit=2)
    assert [s.version for s in summaries] == ["1.0.4", "1.0.3"]
    top = summaries[0]
    assert (top.model, top.actor, top.stage, top.description) == ("fraud", ACTOR, "none", "weekly")
    assert len(registry.list_versions("fraud")) == 5


# -- lineage --------------------------------------------------------------------------------


def test_parent_defaults_to_the_previous_version(registry: Registry) -> None:
    first = registry.register(draft(), actor=ACTOR)
    second = registry.register(draft(), actor=ACTOR)
    assert first.parent is None
    assert second.parent == "1.0.0"
    # An explicit number in between gets the newest version below it as parent.
    register(registry, version="1.0.5")
    assert registry.load("fraud", "1.0.5").parent == "1.0.1"
    assert register(registry, version="1.0.3") == "1.0.3"
    assert registry.load("fraud", "1.0.3").parent == "1.0.1"


def test_explicit_parent_and_no_parent(registry: Registry) -> None:
    for _ in range(3):
        register(registry)
    assert registry.register(draft(parent="1.0.0"), actor=ACTOR).parent == "1.0.0"
    assert registry.register(draft(parent="v1.0.1"), actor=ACTOR).parent == "1.0.1"
    assert registry.register(draft(parent=""), actor=ACTOR).parent is None
    assert versions_of(registry)[:3] == ["1.0.5", "1.0.4", "1.0.3"]


def test_unknown_parent_is_rejected_and_nothing_written(registry: Registry) -> None:
    register(registry)
    before = table_counts(registry)
    with pytest.raises(VersionNotFoundError) as info:
        register(registry, parent="9.9.9", params={"a": 1}, metric_points={"m": [(0, 1.0, T0)]})
    assert (info.value.model, info.value.version) == ("fraud", "9.9.9")
    with pytest.raises(InvalidVersionError):
        register(registry, parent="latest")
    assert table_counts(registry) == before


# -- the rest of the recipe -----------------------------------------------------------------


def _environment(fingerprint: str = "f" * 64, numpy: str = "2.1.0") -> Environment:
    return Environment(
        python_version="3.11.9",
        python_implementation="CPython",
        platform="Linux-6.1-x86_64",
        machine="x86_64",
        cpu_model="AMD EPYC",
        cpu_count=2,
        gpus=("NVIDIA A100",),
        packages={"numpy": numpy, "scikit-learn": "1.5.0"},
        fingerprint=fingerprint,
    )


def test_data_artifacts_code_environment_and_tags_round_trip(registry: Registry) -> None:
    data = (
        DataSnapshot("train", "data/train.csv", "file", "a" * 64, 1234, 1),
        DataSnapshot(
            "images",
            "data/images",
            "directory",
            "b" * 64,
            30,
            2,
            manifest=(
                ManifestEntry("a.png", 10, "c" * 64),
                ManifestEntry("sub/b.png", 20, "d" * 64),
            ),
        ),
        DataSnapshot("external", "s3://bucket/data.parquet", "uri", None, None, None),
        DataSnapshot(
            "features",
            "data/features",
            "directory",
            None,
            99,
            4,
            dvc_md5="e" * 32 + ".dir",
            dvc_source="dvc.lock",
        ),
    )
    artifacts = (
        Artifact("model.pkl", "out/model.pkl", "f" * 64, 4096),
        Artifact("report", "https://example.com/report.html", None, None),
    )
    code = CodeState(
        repo_root="/src/fraud",
        commit="1" * 40,
        branch="main",
        remote_url="https://github.com/acme/fraud.git",
        dirty=True,
        dirty_files=("train.py", "new file.py"),
        diff_digest="2" * 64,
    )
    record = registry.register(
        draft(
            data=data,
            artifacts=artifacts,
            code=code,
            environment=_environment(),
            description="weekly retrain",
            tags={"team": "risk", "ticket": "FR-12"},
        ),
        actor=ACTOR,
    )
    loaded = registry.load("fraud", "1.0.0")
    assert loaded == record
    assert loaded.data == data
    assert loaded.artifacts == artifacts
    assert loaded.code == code
    assert loaded.environment == _environment()
    assert dict(loaded.environment.packages) == {"numpy": "2.1.0", "scikit-learn": "1.5.0"}
    assert dict(loaded.tags) == {"team": "risk", "ticket": "FR-12"}
    assert (loaded.description, loaded.actor, loaded.stage) == ("weekly retrain", ACTOR, "none")
    assert loaded.created_at.tzinfo is not None


def test_versions_share_an_environment_and_may_have_none(registry: Registry) -> None:
    register(registry, environment=_environment())
    register(registry, environment=_environment())
    register(registry, environment=_environment("9" * 64, numpy="2.2.0"))
    register(registry)
    assert registry.load("fraud", "1.0.1").environment == _environment()
    assert registry.load("fraud", "1.0.2").environment.packages["numpy"] == "2.2.0"  # type: ignore[union-attr]
    bare = registry.load("fraud", "1.0.3")
    assert (bare.environment, bare.code, bare.data, bare.artifacts) == (None, None, (), ())
    assert table_counts(registry)["environments"] == 2


def test_clean_code_state_round_trips(registry: Registry) -> None:
    code = CodeState("/src", "a" * 40, None, None, dirty=False)
    register(registry, code=code)
    assert registry.load("fraud", "1.0.0").code == code


def test_created_at_comes_from_the_clock(db_url: str) -> None:
    moment = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    with Registry.open(db_url, clock=lambda: moment) as registry:
        record = registry.register(draft(), actor=ACTOR)
        assert record.created_at == moment
        [event] = registry.audit_log()
        assert event.created_at == moment
        [model] = registry.list_models()
        assert model.created_at == model.updated_at == moment


# -- metric goals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "loss",
        "error",
        "mae",
        "mse",
        "rmse",
        "latency",
        "time",
        "val_loss",
        "train-loss",
        "p95_latency_ms",
        "test_error",
        "Val_RMSE",
        "inference_time",
    ],
)
def test_default_goal_minimises_by_name(name: str) -> None:
    assert default_metric_spec(name) == MetricSpec(name, "minimize", 0.0, origin="name")


@pytest.mark.parametrize(
    "name",
    [
        "accuracy",
        "acc",
        "auc",
        "f1",
        "precision",
        "recall",
        "r2",
        "roc_auc",
        "val_accuracy",
        "f1_macro",
        "top1_acc",
        "throughput",
    ],
)
def test_default_goal_maximises_by_name(name: str) -> None:
    assert default_metric_spec(name) == MetricSpec(name, "maximize", 0.0, origin="name")


def test_metric_specs_default_by_name_and_can_be_overridden(registry: Registry) -> None:
    names = ("loss", "val_loss", "roc_auc", "accuracy", "throughput", "n_rows")
    register(registry, metric_points={name: [(0, 1.0, T0)] for name in names})
    specs = registry.load("fraud", "1.0.0").metric_specs
    assert {name: spec.goal for name, spec in specs.items()} == {
        "loss": "minimize",
        "val_loss": "minimize",
        "roc_auc": "maximize",
        "accuracy": "maximize",
        "throughput": "maximize",
        "n_rows": "none",
    }

    spec = registry.set_metric_goal("fraud", "throughput", "minimize", 0.5, actor=ACTOR)
    assert spec == MetricSpec("throughput", "minimize", 0.5)
    registry.set_metric_goal("fraud", "throughput", "maximize", 2.0, actor=ACTOR, reason="oops")
    registry.set_metric_goal("fraud", "val_loss", "maximize", actor=ACTOR)
    specs = registry.load("fraud", "1.0.0").metric_specs
    assert specs["throughput"] == MetricSpec("throughput", "maximize", 2.0)
    assert specs["val_loss"] == MetricSpec("val_loss", "maximize", 0.0)
    assert specs["loss"] == MetricSpec("loss", "minimize", 0.0, origin="name")
    assert registry.metric_specs("fraud")["throughput"] == MetricSpec("throughput", "maximize", 2.0)

    # Goals are per model.
    register(registry, "other", metric_points={"throughput": [(0, 1.0, T0)]})
    assert registry.load("other", "1.0.0").metric_specs["throughput"].tolerance == 0.0

    events = registry.audit_log("fraud")
    assert [e.action for e in events[:3]] == ["metric_goal"] * 3
    second = events[1]
    assert second.before == {"metric": "throughput", "goal": "minimize", "tolerance": 0.5}
    assert second.after == {"metric": "throughput", "goal": "maximize", "tolerance": 2.0}
    assert second.reason == "oops"
    assert registry.verify_audit().ok


def test_bad_metric_goal_is_a_usage_error(registry: Registry) -> None:
    register(registry, metric_points={"loss": [(0, 1.0, T0)]})
    before = table_counts(registry)
    for goal, tolerance in (
        ("max", 0.0),
        ("MAXIMIZE", 0.0),
        ("", 0.0),
        ("minimize", -1.0),
        ("minimize", math.nan),
        ("minimize", math.inf),
    ):
        with pytest.raises(UsageError):
            registry.set_metric_goal("fraud", "loss", goal, tolerance, actor=ACTOR)
    assert table_counts(registry) == before


def test_metric_goal_needs_a_known_model(registry: Registry) -> None:
    with pytest.raises(ModelNotFoundError):
        registry.set_metric_goal("ghost", "loss", "minimize", actor=ACTOR)
    assert registry.verify_audit().events_checked == 0


# -- listing and lookups --------------------------------------------------------------------


def test_list_models_reports_latest_by_semver_and_counts(registry: Registry) -> None:
    assert registry.list_models() == []
    register(registry, "zeta")
    register(registry, "alpha", version="2.9.0")
    register(registry, "alpha", version="2.10.0")
    register(registry, "alpha", version="2.2.0")
    summaries = registry.list_models()
    assert [
        (m.name, m.latest_version, m.version_count, m.production_version) for m in summaries
    ] == [
        ("alpha", "2.10.0", 3, None),
        ("zeta", "1.0.0", 1, None),
    ]
    assert summaries[0].updated_at >= summaries[0].created_at


def test_unknown_model_and_version(registry: Registry) -> None:
    register(registry)
    for call in (
        lambda: registry.load("ghost", "1.0.0"),
        lambda: registry.list_versions("ghost"),
        lambda: registry.count_versions("ghost"),
        lambda: registry.latest_version("ghost"),
        lambda: registry.metric_specs("ghost"),
    ):
        with pytest.raises(ModelNotFoundError) as info:
            call()
        assert info.value.model == "ghost"
        assert "ghost" in str(info.value)
    with pytest.raises(VersionNotFoundError) as missing:
        registry.load("fraud", "1.0.1")
    assert (missing.value.model, missing.value.version) == ("fraud", "1.0.1")
    assert "modeltrail list fraud" in str(missing.value)
    with pytest.raises(InvalidVersionError):
        registry.load("fraud", "one")


def test_every_register_writes_an_audit_event(registry: Registry) -> None:
    register(
        registry,
        params={"lr": 0.1},
        metric_points={"loss": [(0, 0.5, T0), (1, 0.25, T0)]},
        data=(DataSnapshot("train", "t.csv", "file", "a" * 64, 1, 1),),
        description="first",
    )
    register(registry, "other")
    register(registry)
    result = registry.verify_audit()
    assert (result.ok, result.events_checked) == (True, 3)
    newest, middle, oldest = registry.audit_log()
    assert [e.seq for e in (oldest, middle, newest)] == [1, 2, 3]
    assert (oldest.action, oldest.model, oldest.version, oldest.actor) == (
        "register",
        "fraud",
        "1.0.0",
        ACTOR,
    )
    assert oldest.reason == "first"
    assert oldest.after is not None
    assert oldest.after["metrics"] == {"loss": 0.25}
    assert oldest.after["data"] == {"train": "a" * 64}
    assert oldest.after["params"] == 1
    assert middle.prev_hash == oldest.hash and newest.prev_hash == middle.hash
    assert [e.version for e in registry.audit_log("fraud")] == ["1.0.1", "1.0.0"]
    assert len(registry.audit_log(limit=1)) == 1
