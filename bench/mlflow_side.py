"""The MLflow half of the benchmarks, run by the side environment's python as a subprocess.

Never imported by modeltrail and never imports it: `bench_registry.py --mlflow-python PATH`
runs `PATH bench/mlflow_side.py CASE ...` and reads one JSON object from stdout, so both halves
are measured in the same run on the same (loaded) machine.

Cases (all times in seconds, medians over the repetitions):

    register  one run with N params (log_batch, ≤100 per call) and M metrics × S steps
              (log_batch, ≤1000 points per call), then a registered model version; SQLite
              tracking + registry store in a fresh temporary directory.
    log_metric  per-call cost of MlflowClient.log_metric on an open run.
    import    wall time of `import mlflow` in a fresh interpreter (in-process perf_counter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _client(tmp: str):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow, MlflowClient(tracking_uri=uri, registry_uri=uri)


def _quiet() -> None:
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)


def case_register(reps: int, params: int, metrics: int, steps: int) -> dict:
    from mlflow.entities import Metric, Param

    full: list[float] = []
    logging_only: list[float] = []
    register_only: list[float] = []
    param_objs = [Param(f"group{i // 20}.param_{i}", str(i * 0.5)) for i in range(params)]
    for rep in range(reps):
        with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
            _mlflow, client = _client(tmp)
            # Store creation (schema migration) happens on first use: keep it out of the timing,
            # as the modeltrail side opens its registry before timing too.
            exp_id = client.create_experiment(f"bench-{rep}")
            client.create_registered_model("warmup")
            now_ms = int(time.time() * 1000)
            metric_objs = [
                Metric(f"metric_{m}", 1.0 / (s + 1) + m, now_ms + s, s)
                for m in range(metrics)
                for s in range(steps)
            ]
            t0 = time.perf_counter()
            run = client.create_run(exp_id)
            run_id = run.info.run_id
            for i in range(0, len(param_objs), 100):
                client.log_batch(run_id, params=param_objs[i : i + 100])
            for i in range(0, len(metric_objs), 1000):
                client.log_batch(run_id, metrics=metric_objs[i : i + 1000])
            client.set_terminated(run_id)
            t1 = time.perf_counter()
            client.create_registered_model(f"bench-model-{rep}")
            client.create_model_version(
                f"bench-model-{rep}", source=f"{run.info.artifact_uri}/model", run_id=run_id
            )
            t2 = time.perf_counter()
            full.append(t2 - t0)
            logging_only.append(t1 - t0)
            register_only.append(t2 - t1)
    return {
        "reps": reps,
        "full_median_s": statistics.median(full),
        "full_all_s": full,
        "log_run_median_s": statistics.median(logging_only),
        "register_model_median_s": statistics.median(register_only),
    }


def case_log_metric(calls: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        __mlflow, client = _client(tmp)
        exp_id = client.create_experiment("bench")
        run_id = client.create_run(exp_id).info.run_id
        client.log_metric(run_id, "warmup", 0.0, step=0)
        times = []
        for i in range(calls):
            t0 = time.perf_counter()
            client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
            times.append(time.perf_counter() - t0)
        client.set_terminated(run_id)
    return {"calls": calls, "per_call_median_s": statistics.median(times)}


def case_import(reps: int) -> dict:
    code = "import time; t = time.perf_counter(); import mlflow; print(time.perf_counter() - t)"
    inproc, wall = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        wall.append(time.perf_counter() - t0)
        inproc.append(float(out.strip().splitlines()[-1]))
    return {
        "reps": reps,
        "import_median_s": statistics.median(inproc),
        "process_wall_median_s": statistics.median(wall),
        "import_all_s": inproc,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["register", "log_metric", "import", "version"])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--params", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    _quiet()
    if args.case == "version":
        import mlflow

        result = {"mlflow": mlflow.__version__, "python": sys.version.split()[0]}
    elif args.case == "register":
        result = case_register(args.reps, args.params, args.metrics, args.steps)
    elif args.case == "log_metric":
        result = case_log_metric(args.calls)
    else:
        result = case_import(args.reps)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
