"""Real MLflow stores for the import and webhook tests, filled through MLflow's own client.

mlflow is an optional extra: without it these tests are skipped, except in CI (CI=true, read
when this module is imported, before the autouse fixture scrubs the environment), where a
missing mlflow is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MLFLOW_REQUIRED = os.environ.get("CI", "").lower() == "true"
GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO_URL = "https://user:s3cret@github.com/acme/fraud.git"


def require_mlflow() -> ModuleType:
    if MLFLOW_REQUIRED:
        import mlflow  # a missing extra fails CI rather than skipping these tests

        return mlflow
    return pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


@contextmanager
def quiet_mlflow() -> Any:
    """No telemetry from the test process (DO_NOT_TRACK is not scrubbed by conftest)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DO_NOT_TRACK", "true")
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield


def client_for(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def log_training_run(
    client: Any,
    experiment_id: str,
    workdir: Path,
    *,
    lr: float,
    losses: list[float],
    auc: float,
    dataset_digest: str,
    requirements: str | None = "numpy==2.0.1\nscikit-learn==1.5.2\n# a comment\nrequests>=2\n",
    python_env: str | None = "python: 3.11.9\nbuild_dependencies:\n- pip==24.0\n"
    "dependencies:\n- -r requirements.txt\n",
) -> str:
    """One run the way a training script logs it: params, metric steps, git tags, a dataset
    input and a model directory with its environment files. Returns the run ID."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    run = client.create_run(
        experiment_id,
        tags={
            "mlflow.source.git.commit": GIT_COMMIT,
            "mlflow.source.git.branch": "main",
            "mlflow.source.git.repoURL": REPO_URL,
            "mlflow.source.name": "train.py",
            "mlflow.user": "alice",
            "team": "risk",
        },
    )
    run_id = run.info.run_id
    client.log_param(run_id, "lr", str(lr))
    client.log_param(run_id, "optimizer", "adam")
    client.log_param(run_id, "epochs", "3")
    base = int(time.time() * 1000)
    for step, loss in enumerate(losses):
        client.log_metric(run_id, "loss", loss, timestamp=base + step, step=step)
    client.log_metric(run_id, "auc", auc, timestamp=base + 10, step=0)
    dataset = Dataset(
        name="transactions",
        digest=dataset_digest,
        source_type="s3",
        source='{"uri": "s3://acme-data/transactions.parquet"}',
    )
    client.log_inputs(
        run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])]
    )
    model_dir = workdir / f"model-{run_id}"
    model_dir.mkdir(parents=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    if requirements is not None:
        (model_dir / "requirements.txt").write_text(requirements)
    if python_env is not None:
        (model_dir / "python_env.yaml").write_text(python_env)
    for file in model_dir.iterdir():
        client.log_artifact(run_id, str(file), artifact_path="model")
    client.set_terminated(run_id)
    return run_id


def register_version(client: Any, name: str, run_id: str, description: str | None = None) -> int:
    run = client.get_run(run_id)
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name)
    mv = client.create_model_version(
        name, source=f"{run.info.artifact_uri}/model", run_id=run_id, description=description
    )
    return int(mv.version)


def two_versions(client: Any, experiment_id: str, workdir: Path, name: str) -> None:
    """Versions 1 and 2 of a new registered model `name`, each from its own run."""
    for lr in (0.1, 0.05):
        run_id = log_training_run(
            client, experiment_id, workdir, lr=lr, losses=[0.5], auc=0.8, dataset_digest="abcd"
        )
        register_version(client, name, run_id)


def fill_store(client: Any, workdir: Path) -> dict[str, Any]:
    """Two registered models: fraud-detector with three versions (champion on 2, challenger
    on 3), and churn with one version without environment files."""
    exp = client.create_experiment("fraud", artifact_location=(workdir / "artifacts").as_uri())
    runs = [
        log_training_run(client, exp, workdir, lr=lr, losses=losses, auc=auc, dataset_digest=digest)
        for lr, losses, auc, digest in (
            (0.1, [0.9, 0.5, 0.3], 0.81, "aaaa1111"),
            (0.05, [0.8, 0.4, 0.25], 0.86, "aaaa1111"),
            (0.05, [0.7, 0.35, 0.2], 0.88, "bbbb2222"),
        )
    ]
    for i, run_id in enumerate(runs, start=1):
        register_version(client, "fraud-detector", run_id, description=f"retrain {i}")
    client.set_registered_model_alias("fraud-detector", "champion", "2")
    client.set_registered_model_alias("fraud-detector", "challenger", "3")
    churn_run = log_training_run(
        client,
        exp,
        workdir,
        lr=0.2,
        losses=[0.6],
        auc=0.7,
        dataset_digest="cccc3333",
        requirements=None,
        python_env=None,
    )
    register_version(client, "churn model", churn_run)
    return {"experiment_id": exp, "runs": runs, "churn_run": churn_run}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mlflow_server_available() -> str | None:
    """None when this interpreter can run `mlflow server` (the full mlflow package), else why
    not: mlflow-skinny alone lacks the server's dependencies (flask and more)."""
    import importlib.util

    for module in ("flask", "flask_cors", "mlflow.server"):
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"`mlflow server` needs the full mlflow package ({module} is missing)"
    return None


@contextmanager
def running_mlflow_server(
    workdir: Path, *, backend_uri: str | None = None, timeout: float = 90.0, **env_extra: str
) -> Any:
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend (a new one, or an existing
    store: `backend_uri`) and proxied artifacts; yields its URL."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELTRAIL_"))}
    env.update(
        {
            "DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            # no background job runner (huey): not needed here, and it doubles start-up time
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **env_extra,
        }
    )
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend_uri or f"sqlite:///{workdir / 'server.db'}",
            "--artifacts-destination",
            str(workdir / "served-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {proc.returncode}: "
                    + (workdir / "server.log").read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not become healthy in time")
            time.sleep(0.3)
        yield url
    finally:
        import signal

        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


PROJECT_MODEL = "credit"
AWKWARD_PARAMS = {
    "threshold": float("nan"),  # MLflow stores str(nan): "nan"
    "nan_text": "NaN",
    "cap": "Infinity",
    "config": '{"depth": 3, "split": "gini"}',
    "layers": [64, 32],  # stored as "[64, 32]"
    "lr": 0.01,
}


def fill_project_store(uri: str, workdir: Path) -> dict[str, Any]:
    """A project the way MLflow 3 users log it, through the fluent API: an autologged
    scikit-learn run (or, without scikit-learn, the same kind of params and metrics logged by
    hand) with awkward params, a pandas dataset input and a LoggedModel made with
    `mlflow.initialize_logged_model` from that run; a second LoggedModel with no run of its
    own; both registered as versions 1 and 2 of `credit`, whose description and tags are set
    and whose champion alias is on 1."""
    import importlib.util

    import mlflow

    client = client_for(uri)
    mlflow.set_tracking_uri(uri)
    experiment = client.create_experiment(
        "credit", artifact_location=(workdir / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment)
    sklearn = importlib.util.find_spec("sklearn") is not None
    tags = {
        "mlflow.user": "alice",
        "mlflow.source.git.commit": GIT_COMMIT,
        "mlflow.source.git.branch": "main",
        "team": "risk",
    }
    try:
        with mlflow.start_run(run_name="train", tags=tags) as run:
            mlflow.log_params(AWKWARD_PARAMS)
            if sklearn:
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                frame = pd.DataFrame(
                    {"income": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "y": [0, 0, 0, 1, 1, 1]}
                )
                dataset = mlflow.data.from_pandas(
                    frame, source="s3://acme/credit.parquet", name="credit-train", targets="y"
                )
                mlflow.log_input(dataset, context="training")
                mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
                LogisticRegression(C=0.5).fit(frame[["income"]], frame["y"])
            else:
                mlflow.log_params({"C": 0.5, "solver": "lbfgs"})
                mlflow.log_metrics({"training_accuracy_score": 1.0})
            model = mlflow.initialize_logged_model(
                name="credit-model",
                source_run_id=run.info.run_id,
                params={"calibrated": "false"},
                tags={"framework": "sklearn"},
            )
            files = workdir / "credit-model"
            files.mkdir(parents=True, exist_ok=True)
            (files / "MLmodel").write_text("flavors: {}\n")
            (files / "requirements.txt").write_text("scikit-learn==1.5.2\nnumpy==2.0.1\n")
            (files / "python_env.yaml").write_text("python: 3.11.9\ndependencies: []\n")
            client.log_model_artifacts(model.model_id, str(files))
            mlflow.finalize_logged_model(model.model_id, "READY")
            mlflow.log_metric("val_auc", 0.91, model_id=model.model_id)
    finally:
        if sklearn:
            mlflow.sklearn.autolog(disable=True)
    rules = mlflow.initialize_logged_model(
        name="credit-rules", params={"max_score": "700"}, tags={"owner": "risk-ops"}
    )
    # Outside a run MLflow makes one for the metric; the LoggedModel names no source run.
    mlflow.log_metric("approval_rate", 0.42, model_id=rules.model_id)
    mlflow.end_run()
    mlflow.finalize_logged_model(rules.model_id, "READY")
    mlflow.register_model(f"models:/{model.model_id}", PROJECT_MODEL)
    mlflow.register_model(f"models:/{rules.model_id}", PROJECT_MODEL)
    client.update_registered_model(PROJECT_MODEL, description="Credit scoring")
    client.set_registered_model_tag(PROJECT_MODEL, "owner", "risk-team")
    client.set_registered_model_alias(PROJECT_MODEL, "champion", "1")
    return {
        "client": client,
        "run_id": run.info.run_id,
        "model_id": model.model_id,
        "rules_id": rules.model_id,
        "experiment_id": experiment,
        "sklearn": sklearn,
    }
