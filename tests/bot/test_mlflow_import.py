"""`modeltrail import mlflow` against real MLflow stores: a SQLite store filled through
MLflow's own client, and a running `mlflow server` read over its REST API."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow_store import (
    GIT_COMMIT,
    client_for,
    fill_store,
    free_port,
    log_training_run,
    mlflow_server_available,
    quiet_mlflow,
    register_version,
    require_mlflow,
    running_mlflow_server,
)

from modeltrail.bot.cli.main import main
from modeltrail.bot.integrations.mlflow_import import MlflowImporter
from modeltrail.bot.integrations.mlflow_mapping import AliasRule, VersionRule
from modeltrail.bot.integrations.mlflow_source import MlflowImportError, MlflowSource
from modeltrail.core.registry.writer import Registry

require_mlflow()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One SQLite MLflow store for the module (MLflow's first migration takes seconds)."""
    workdir = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    with quiet_mlflow():
        client = client_for(uri)
        info = fill_store(client, workdir)
        yield {"uri": uri, "client": client, "workdir": workdir, **info}


def importer(registry: Registry, uri: str, **rules: Any) -> MlflowImporter:
    return MlflowImporter(MlflowSource(uri), registry, actor="importer", **rules)


def imported(report: Any, *models: str) -> list[str]:
    """Versions imported into `models` (other tests add models to the shared store)."""
    return sorted(v for m, _, v in report.imported if m in models)


FIXED_MODELS = ("fraud-detector", "churn-model")  # as named here
MLFLOW_MODELS = ("fraud-detector", "churn model")  # as named in MLflow


def test_import_brings_every_version_with_its_run(
    store: dict[str, Any], registry: Registry
) -> None:
    progress: list[tuple[str, int, int]] = []
    report = importer(registry, store["uri"]).import_all(progress=lambda *p: progress.append(p))

    assert sorted(v for _, _, v in report.imported) == ["1.1.0", "1.1.0", "1.2.0", "1.3.0"]
    assert progress[-1] == ("fraud-detector 3", 3, 3)
    assert [v.version for v in registry.list_versions("fraud-detector")] == [
        "1.3.0",
        "1.2.0",
        "1.1.0",
    ]
    record = registry.load("fraud-detector", "1.2.0", history=True)
    assert record.params == {"lr": 0.05, "optimizer": "adam", "epochs": 3}
    loss = record.metrics["loss"]
    assert loss.value == 0.25 and [p.value for p in loss.history] == [0.8, 0.4, 0.25]
    assert [p.step for p in loss.history] == [0, 1, 2]
    assert record.metrics["auc"].value == 0.86
    tags = record.tags
    assert tags["mlflow.model_name"] == "fraud-detector"
    assert tags["mlflow.version"] == "2"
    assert tags["mlflow.run_id"] == store["runs"][1]
    assert tags["mlflow.source.git.commit"] == GIT_COMMIT
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.git.repoURL"] == "https://github.com/acme/fraud.git"
    assert tags["mlflow.user"] == "alice"
    assert tags["mlflow.aliases"] == "champion"
    assert tags["team"] == "risk"
    assert "s3cret" not in json.dumps(dict(tags))
    assert record.code is not None
    assert (record.code.commit, record.code.branch) == (GIT_COMMIT, "main")
    assert record.code.remote_url == "https://github.com/acme/fraud.git"
    (data,) = record.data
    assert (data.role, data.kind, data.path, data.digest) == (
        "training.transactions",
        "uri",
        "s3://acme-data/transactions.parquet",
        "mlflow:aaaa1111",
    )
    assert record.environment is not None
    assert record.environment.python_version == "3.11.9"
    assert dict(record.environment.packages) == {"numpy": "2.0.1", "scikit-learn": "1.5.2"}
    assert [a.name for a in record.artifacts] == ["model"]
    assert record.description == "retrain 2"

    # aliases → stages: champion on 2 → production, challenger on 3 → staging
    assert registry.stage_version("fraud-detector", "production") == "1.2.0"
    assert registry.stage_version("fraud-detector", "staging") == "1.3.0"
    promote = next(e for e in registry.audit_log("fraud-detector") if e.action == "promote")
    assert promote.reason == "imported from MLflow alias champion"
    assert promote.actor == "importer"
    imports = [e for e in registry.audit_log() if e.action == "import"]
    assert len(imports) == 4
    assert registry.verify_audit().ok

    # the name MLflow allows but modeltrail does not, and a model without environment files
    churn = registry.load("churn-model", "1.1.0")
    assert churn.tags["mlflow.model_name"] == "churn model"
    assert churn.environment is None


def test_reimport_is_idempotent(store: dict[str, Any], registry: Registry) -> None:
    importer(registry, store["uri"]).import_all(MLFLOW_MODELS)
    events = len(registry.audit_log())

    report = importer(registry, store["uri"]).import_all(MLFLOW_MODELS)

    assert (report.imported, report.updated, report.moved) == ([], [], [])
    assert report.unchanged == 4
    assert len(registry.audit_log()) == events


def test_reimport_takes_new_versions_tags_descriptions_and_aliases(
    store: dict[str, Any], registry: Registry, tmp_path: Path
) -> None:
    client, name = store["client"], f"pricing-{time.time_ns()}"
    first = log_training_run(
        client,
        store["experiment_id"],
        tmp_path,
        lr=0.1,
        losses=[1.0, 0.5],
        auc=0.8,
        dataset_digest="dddd",
    )
    register_version(client, name, first, description="first")
    client.set_registered_model_alias(name, "champion", "1")
    assert len(importer(registry, store["uri"]).import_all([name]).imported) == 1
    assert registry.stage_version(name, "production") == "1.1.0"

    # MLflow moves on: a second version becomes champion, the first gets a tag and a new
    # description
    second = log_training_run(
        client,
        store["experiment_id"],
        tmp_path,
        lr=0.05,
        losses=[0.9, 0.4],
        auc=0.85,
        dataset_digest="eeee",
    )
    register_version(client, name, second)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.update_model_version(name, "1", description="first, validated on EU traffic")

    report = importer(registry, store["uri"]).import_all([name])

    assert [v for _, _, v in report.imported] == ["1.2.0"]
    assert registry.stage_version(name, "production") == "1.2.0"
    old = registry.load(name, "1.1.0")
    assert old.stage == "archived"
    assert old.tags["validated"] == "yes"
    assert old.tags["mlflow.aliases"] == ""
    assert [n.text for n in old.notes] == ["MLflow description: first, validated on EU traffic"]
    # a rollback decided here is not undone by the next import
    registry.rollback(name, actor="oncall", reason="latency on live traffic")
    assert registry.stage_version(name, "production") == "1.1.0"
    again = importer(registry, store["uri"]).import_all([name])
    assert again.moved == [] and again.imported == []
    assert registry.stage_version(name, "production") == "1.1.0"


def test_options_since_template_aliases_and_into(store: dict[str, Any], registry: Registry) -> None:
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    nothing = importer(registry, store["uri"]).import_all(since=future)
    assert nothing.imported == [] and registry.list_models() == []

    report = importer(
        registry,
        store["uri"],
        version_rule=VersionRule.parse("{N}.0.0"),
        alias_rule=AliasRule.parse("challenger=production"),
    ).import_all(["fraud-detector"], into="fraud")

    assert [v for _, _, v in report.imported] == ["1.0.0", "2.0.0", "3.0.0"]
    assert registry.stage_version("fraud", "production") == "3.0.0"
    assert registry.stage_version("fraud", "staging") is None


def test_a_native_version_in_the_way_is_skipped_not_overwritten(
    store: dict[str, Any], registry: Registry
) -> None:
    from modeltrail.core.records import VersionDraft

    registry.register(VersionDraft(model="fraud-detector", version="1.2.0"), actor="me")
    report = importer(registry, store["uri"]).import_all(["fraud-detector"])
    assert [v for _, _, v in report.imported] == ["1.1.0", "1.3.0"]
    assert len(report.skipped) == 1 and "1.2.0 exists" in report.skipped[0]


def test_cli_import_reports_and_fails_clearly(
    store: dict[str, Any], db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["--db", db_url, "import", "mlflow", "--tracking-uri", store["uri"]]
    assert main([*args, "--model", "fraud-detector"]) == 0
    out = capsys.readouterr().out
    assert "imported fraud-detector 1.2.0 (MLflow version 2)" in out
    assert "fraud-detector 1.2.0 → production (MLflow alias champion)" in out

    assert main([*args, "--model", "fraud-detector", "--model", "churn model", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["imported"] == [  # only churn was new
        {"model": "churn-model", "mlflow_version": 1, "version": "1.1.0"}
    ]
    assert result["unchanged"] == 3

    assert main([*args, "--model", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert "no-such-model" in err and "not found in MLflow" in err and "Traceback" not in err

    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    assert main(["--db", db_url, "import", "mlflow", "--tracking-uri", missing]) == 1
    assert "no MLflow store at" in capsys.readouterr().err
    assert not (tmp_path / "absent.db").exists()

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        dead = f"http://127.0.0.1:{free_port()}"
        assert main(["--db", db_url, "import", "mlflow", "--tracking-uri", dead]) == 1
    err = capsys.readouterr().err
    assert "cannot reach MLflow at" in err and err.count("\n") <= 2

    assert main(["--db", db_url, "import", "mlflow"]) == 2
    assert "no MLflow tracking URI" in capsys.readouterr().err
    assert main([*args, "--version-template", "1.0"]) == 1
    assert "version template" in capsys.readouterr().err


def test_source_errors_are_modeltrail_errors() -> None:
    with pytest.raises(MlflowImportError, match="no MLflow store"):
        MlflowSource("sqlite:////nonexistent/dir/mlflow.db")


# -- a running `mlflow server`, read over REST -------------------------------------------


@pytest.mark.slow
def test_import_from_a_running_mlflow_server(store: dict[str, Any], tmp_path: Path) -> None:
    """The module's store served by a real `mlflow server`, plus one version logged through
    the server (its model files uploaded to, and read back from, the proxied artifact store).
    One registry backend: the registry side is the same as above; this is about REST."""
    why_not = mlflow_server_available()
    if why_not:
        pytest.skip(why_not)
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    server = running_mlflow_server(tmp_path / "server", backend_uri=store["uri"])
    with quiet_mlflow(), server as url, registry:
        client = client_for(url)
        experiment = client.create_experiment(f"served-{time.time_ns()}")  # proxied artifacts
        run_id = log_training_run(
            client,
            experiment,
            tmp_path,
            lr=0.3,
            losses=[0.5, 0.1],
            auc=0.9,
            dataset_digest="ffff",
            requirements="torch==2.5.1\n",
        )
        name = f"served-{time.time_ns()}"
        register_version(client, name, run_id, description="over REST")
        client.set_registered_model_alias(name, "prod", "1")

        report = importer(registry, url).import_all([*MLFLOW_MODELS, name])
        again = importer(registry, url).import_all([*MLFLOW_MODELS, name])

        assert imported(report, *FIXED_MODELS) == ["1.1.0", "1.1.0", "1.2.0", "1.3.0"]
        assert again.unchanged == 5 and not again.changed
        record = registry.load("fraud-detector", "1.3.0", history=True)
        assert [p.value for p in record.metrics["loss"].history] == [0.7, 0.35, 0.2]
        assert record.data[0].digest == "mlflow:bbbb2222"
        assert record.tags["mlflow.tracking_uri"] == url
        assert registry.stage_version("fraud-detector", "production") == "1.2.0"
        served = registry.load(name, "1.1.0")
        assert served.description == "over REST"
        assert served.stage == "production"
        assert served.environment is not None
        assert dict(served.environment.packages) == {"torch": "2.5.1"}
        assert served.artifacts[0].uri.startswith("mlflow-artifacts:")

    # The same store read directly: its `mlflow-artifacts:/` files need the server, so the
    # version imports without an environment and a warning names it.
    with Registry.open(f"sqlite:///{tmp_path / 'direct.db'}") as direct:
        report = importer(direct, store["uri"]).import_all([name])
        assert [v for _, _, v in report.imported] == ["1.1.0"]
        (warning,) = [w for w in report.warnings if "environment" in w]
        assert warning.startswith(f"{name} 1: the environment could not be read (mlflow-artifacts:")
        assert direct.load(name, "1.1.0").environment is None
