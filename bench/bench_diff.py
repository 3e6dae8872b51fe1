"""Change-report benchmarks against the budgets of the diff/changelog issue.

    .venv/bin/python bench/bench_diff.py [--mlflow-python ../mlflow-venv/bin/python]
        [--postgres URL] [--json out.json] [--quick]

(a) Load two versions (200 params, 20 metrics × 10 steps) from the registry and diff them:
    `compare(registry, model, v1, v2)`, i.e. `load_many` + `diff_versions`, on SQLite (and
    PostgreSQL with --postgres). Budget: ≥ 10× faster than the MLflow way, measured side by side
    in the side environment: 2× `get_model_version` + 2× `get_run` + a dict comparison of
    params and metrics, same data shape, SQLite tracking/registry store.
(b) `diff_versions` of two versions with 10,000 params each (loaded from the registry
    once, diffed in memory). Budget: < 50 ms.
(c) The changelog of a model with 1,000 versions (seeded through `Registry.register`):
    `changelog()` (load all + 999 diffs) and the markdown the CLI writes. Budget: < 2 s.
(d) The git part of a diff on a repository with 10,000 commits between the two versions
    (built with `git fast-import`): `code_history_for` (rev-list count, capped log, files).
    Budget: < 2 s, the list capped (50) with the count of the rest.

Without --mlflow-python (or when mlflow is missing there) the MLflow half prints
"mlflow not installed, skipping comparison" and the modeltrail half still runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MLFLOW_SKIP, fmt, load, machine, median_time, report, write_json

from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.diff.engine import diff_versions
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.compare import changelog, code_history_for, compare
from modeltrail.core.registry.writer import Registry

N_PARAMS, N_METRICS, N_STEPS = 200, 20, 10
ACTOR = "bench@example.com"
DEFAULT_MLFLOW_PYTHON = "../mlflow-venv/bin/python"

# The MLflow half, run by the side environment's python (never imports modeltrail). It
# prints one JSON object: the median seconds of "2× get_model_version + 2× get_run + dict
# comparison" over `reps` runs, after one untimed warm-up.
_MLFLOW_DIFF = r"""
import json, logging, os, statistics, sys, tempfile, time
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

reps, n_params, n_metrics, n_steps = (int(a) for a in sys.argv[1:5])
with tempfile.TemporaryDirectory(prefix="mlflow-diff-bench-") as tmp:
    uri = f"sqlite:///{tmp}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("diff-bench")
    client.create_registered_model("fraud")
    now = int(time.time() * 1000)
    for v in range(2):
        run = client.create_run(exp)
        params = [
            Param(f"group{i // 20}.param_{i}", str(i * 0.5 + (v if i % 10 == 0 else 0)))
            for i in range(n_params)
        ]
        for i in range(0, len(params), 100):
            client.log_batch(run.info.run_id, params=params[i : i + 100])
        metrics = [
            Metric(f"metric_{m}", 1.0 / (s + 1) + m + v * 0.01, now + s, s)
            for m in range(n_metrics)
            for s in range(n_steps)
        ]
        client.log_batch(run.info.run_id, metrics=metrics)
        client.set_terminated(run.info.run_id)
        client.create_model_version("fraud", f"{run.info.artifact_uri}/model", run.info.run_id)

    def mlflow_diff():
        a = client.get_model_version("fraud", "1")
        b = client.get_model_version("fraud", "2")
        ra, rb = client.get_run(a.run_id), client.get_run(b.run_id)
        pa, pb = ra.data.params, rb.data.params
        ma, mb = ra.data.metrics, rb.data.metrics
        keys = pa.keys() | pb.keys()
        params = {k: (pa.get(k), pb.get(k)) for k in keys if pa.get(k) != pb.get(k)}
        metrics = {
            k: (ma.get(k), mb.get(k), (mb[k] - ma[k]) if k in ma and k in mb else None)
            for k in ma.keys() | mb.keys()
        }
        return params, metrics

    changed, _ = mlflow_diff()  # warm-up (and a check that the data differ as intended)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        mlflow_diff()
        times.append(time.perf_counter() - t0)
print(json.dumps({
    "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
    "reps": reps, "changed_params": len(changed), "mlflow": mlflow.__version__,
}))
"""


def fake_environment(numpy: str = "1.26.4"):
    return environment_from_parts(
        python_version="3.11.9",
        platform="Linux",
        machine="x86_64",
        packages={"numpy": numpy, "pandas": "2.2.1", "scikit-learn": "1.4.2"},
    )


def draft(
    model: str,
    version: int,
    *,
    params: int,
    metrics: int,
    steps: int,
    environment=None,
) -> VersionDraft:
    """A version shaped like a real one: nested params (every 10th differs between versions),
    metrics with a short history, a data file, a commit, an environment."""
    now = time.time()
    return VersionDraft(
        model=model,
        params={
            f"group{i // 20}.param_{i}": i * 0.5 + (version if i % 10 == 0 else 0)
            for i in range(params)
        },
        metric_points={
            f"metric_{m}": [(s, 1.0 / (s + 1) + m + version * 0.01, now + s) for s in range(steps)]
            for m in range(metrics)
        },
        data=(
            DataSnapshot(
                "train", "data/train.csv", "file", f"{version % 7:064x}", 10_000 + version, 1
            ),
        ),
        code=CodeState(
            repo_root="/nonexistent/bench-repo",
            commit=f"{version:040x}",
            branch="main",
            remote_url=None,
            dirty=False,
        ),
        environment=environment or fake_environment(),
        description=f"bench version {version} | retrain",
    )


def fresh_registry(url: str | None, tmp: Path, name: str) -> Registry:
    if url is None:
        return Registry.open(f"sqlite:///{tmp / (name + '.db')}")
    registry = Registry.open(url)
    return registry


def unique(model: str) -> str:
    return f"{model}-{os.getpid()}-{time.time_ns()}"


# -- (a) load two versions and diff them -----------------------------------------------------


def bench_load_and_diff(registry: Registry, reps: int, label: str) -> dict:
    model = unique("fraud")
    for v in range(2):
        registry.register(
            draft(model, v, params=N_PARAMS, metrics=N_METRICS, steps=N_STEPS), actor=ACTOR
        )
    old, new = "1.0.0", "1.0.1"
    result = compare(registry, model, old, new, git=False)
    assert len(result.params.changed) == N_PARAMS // 10, result.params
    assert len(result.metrics) == N_METRICS
    compare(registry, model, old, new, git=False)  # warm caches once, untimed
    measured = median_time(lambda: compare(registry, model, old, new, git=False), reps)
    report(f"(a) {label}: load 2 versions + diff (200 params, 20 metrics)", measured)
    return measured


def bench_mlflow_diff(python: str | None, reps: int) -> dict | None:
    if not python:
        print(f"  {MLFLOW_SKIP}", flush=True)
        return None
    if not Path(python).exists():
        print(f"  {MLFLOW_SKIP} ({python} does not exist)", flush=True)
        return None
    probe = subprocess.run([python, "-c", "import mlflow"], capture_output=True, check=False)
    if probe.returncode != 0:
        print(f"  {MLFLOW_SKIP} (import mlflow failed in {python})", flush=True)
        return None
    args = [str(reps), str(N_PARAMS), str(N_METRICS), str(N_STEPS)]
    proc = subprocess.run(
        [python, "-c", _MLFLOW_DIFF, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        cwd=tempfile.gettempdir(),
    )
    if proc.returncode != 0:
        print(f"  mlflow side failed:\n{proc.stderr[-2000:]}", flush=True)
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load"] = load()
    report(f"(a) MLflow {result['mlflow']}: 2× get_model_version + 2× get_run + dict", result)
    return result


# -- (b) 10,000 params each -------------------------------------------------------------------


def bench_big_params(registry: Registry, reps: int) -> dict:
    model = unique("wide")
    for v in range(2):
        registry.register(draft(model, v, params=10_000, metrics=5, steps=1), actor=ACTOR)
    old, new = registry.load_many(model, ["1.0.0", "1.0.1"])[::-1]
    assert len(old.params) == len(new.params) == 10_000
    result = diff_versions(old, new)
    assert len(result.params.changed) == 1_000 and result.params.unchanged_count == 9_000
    measured = median_time(lambda: diff_versions(old, new), reps)
    report("(b) diff_versions, 10,000 params each (1,000 changed)", measured)
    loaded = median_time(lambda: registry.load_many(model, ["1.0.0", "1.0.1"]), max(3, reps // 4))
    report("    (for reference) load_many of those two versions", loaded)
    return {"diff": measured, "load": loaded}


# -- (c) changelog of 1,000 versions ------------------------------------------------------------


def bench_changelog(registry: Registry, versions: int, reps: int) -> dict:
    from modeltrail.templates.render import render

    model = unique("long")
    t0 = time.perf_counter()
    for v in range(versions):
        env = fake_environment("2.0.0" if v >= versions // 2 else "1.26.4")
        registry.register(
            draft(model, v, params=50, metrics=10, steps=5, environment=env), actor=ACTOR
        )
    seeded = time.perf_counter() - t0
    print(f"    seeded {versions:,} versions through Registry.register in {fmt(seeded)}")
    entries = changelog(registry, model)
    assert len(entries) == versions and entries[-1].diff is None

    build = median_time(lambda: changelog(registry, model), reps)
    report(f"(c) changelog(): load {versions:,} versions + {versions - 1:,} diffs", build)

    def build_and_render() -> str:
        return render("changelog.md.j2", "md", model=model, entries=changelog(registry, model))

    size = len(build_and_render())
    full = median_time(build_and_render, reps)
    report(f"(c) changelog as markdown, {versions:,} versions ({size / 1e6:.1f} MB)", full)
    return {"build": full | {"changelog_only_median_s": build["median_s"]}, "seed_s": seeded}


# -- (d) git history across 10,000 commits ------------------------------------------------------


def fast_import_stream(commits: int, files: int = 200) -> bytes:
    """A fast-import stream: `commits` commits on main, each rewriting one of `files` files."""
    out: list[bytes] = []
    when = 1_700_000_000
    for n in range(commits):
        message = f"change {n}: tune module {n % files}".encode()
        content = f"VALUE = {n}\n".encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{n + 1}\n".encode())
        author = f"Dev {n % 7} <dev{n % 7}@example.com> {when + n * 60} +0000\n".encode()
        out.append(b"author " + author)
        out.append(b"committer " + author)
        out.append(f"data {len(message)}\n".encode() + message + b"\n")
        if n:
            out.append(f"from :{n}\n".encode())
        path = f"src/module_{n % files:03}.py".encode()
        out.append(b"M 100644 inline " + path + b"\n")
        out.append(f"data {len(content)}\n".encode() + content + b"\n")
    return b"".join(out)


def build_repo(path: Path, commits: int) -> tuple[str, str]:
    """A repository whose main branch has `commits` + 1 commits; the first and the last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    t0 = time.perf_counter()
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        input=fast_import_stream(commits + 1),
        cwd=path,
        check=True,
        env=env,
    )
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True, env=env)
    first = subprocess.run(
        ["git", "rev-list", "--max-parents=0", "main"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    last = subprocess.run(
        ["git", "rev-parse", "main"], cwd=path, capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    print(
        f"    built a {commits + 1:,}-commit repository with git fast-import in "
        f"{fmt(time.perf_counter() - t0)}"
    )
    return first, last


def bench_git(registry: Registry, tmp: Path, commits: int, reps: int) -> dict:
    repo = tmp / "repo"
    first, last = build_repo(repo, commits)
    model = unique("git")
    for v, commit in enumerate((first, last)):
        base = draft(model, v, params=10, metrics=2, steps=1)
        code = CodeState(str(repo), commit, "main", None, False)
        registry.register(dataclasses.replace(base, code=code), actor=ACTOR)
    old, new = registry.load_many(model, ["1.0.0", "1.0.1"])[::-1]
    history = code_history_for(old, new)
    assert history is not None and history.reachable
    assert history.total_commits == commits and len(history.commits) == 50
    assert history.commits[0].sha == last
    measured = median_time(lambda: code_history_for(old, new), reps)
    report(f"(d) git history: {commits:,} commits between versions (list capped at 50)", measured)
    whole = median_time(lambda: compare(registry, model, "1.0.0", "1.0.1"), reps)
    report("    (for reference) compare() with that git history", whole)
    result = compare(registry, model, "1.0.0", "1.0.1")
    from modeltrail.templates.render import render

    text = render("diff.txt.j2", "text", diff=result, summary=None)
    assert f"… and {commits - 50:,} more" in text or f"… and {commits - 50} more" in text
    return {"history": measured, "compare": whole, "total_files": history.total_files_changed}


# -- main --------------------------------------------------------------------------------------


def row(label: str, seconds: float, budget: str, ok: bool) -> str:
    return f"  {label:<52} {fmt(seconds):>11}  {budget:<28} {'PASS' if ok else 'FAIL'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mlflow-python",
        default=DEFAULT_MLFLOW_PYTHON if Path(DEFAULT_MLFLOW_PYTHON).exists() else None,
        help="python of a side venv with mlflow installed (default: ../mlflow-venv if there)",
    )
    parser.add_argument("--postgres", metavar="URL", help="also run (a) on this PostgreSQL URL")
    parser.add_argument("--reps", type=int, default=50, help="repetitions for (a) and (b)")
    parser.add_argument("--versions", type=int, default=1_000, help="versions for (c)")
    parser.add_argument("--commits", type=int, default=10_000, help="commits for (d)")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = parser.parse_args()
    reps = 5 if args.quick else args.reps
    slow_reps = 3 if args.quick else 7

    print(f"bench_diff on {machine()} — load {load()}", flush=True)
    results: dict = {"machine": machine()}
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-bench-diff-"))
    try:
        with fresh_registry(None, tmp, "a") as registry:
            results["a_sqlite"] = bench_load_and_diff(registry, reps, "SQLite")
        if args.postgres:
            with fresh_registry(args.postgres, tmp, "a") as registry:
                results["a_postgres"] = bench_load_and_diff(registry, reps, "PostgreSQL")
        results["a_mlflow"] = bench_mlflow_diff(args.mlflow_python, reps)
        with fresh_registry(None, tmp, "b") as registry:
            results["b"] = bench_big_params(registry, reps)
        with fresh_registry(None, tmp, "c") as registry:
            results["c"] = bench_changelog(registry, args.versions, slow_reps)
        with fresh_registry(None, tmp, "d") as registry:
            results["d"] = bench_git(registry, tmp, args.commits, slow_reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    a = results["a_sqlite"]["median_s"]
    mlflow = results["a_mlflow"]
    print("\nSummary (medians; budgets from the issue)")
    if mlflow:
        speedup = mlflow["median_s"] / a
        print(
            row(
                "(a) load + diff, 200 params/20 metrics (SQLite)",
                a,
                "≥ 10× faster than MLflow",
                speedup >= 10,
            )
        )
        print(
            f"  {'    MLflow way, same data, same machine':<52} {fmt(mlflow['median_s']):>11}"
            f"  → modeltrail {speedup:.0f}× faster"
        )
    else:
        print(
            row(
                "(a) load + diff, 200 params/20 metrics (SQLite)",
                a,
                "≥ 10× vs MLflow 15–28 ms",
                a <= 0.0015,
            )
        )
    if "a_postgres" in results:
        pg = results["a_postgres"]["median_s"]
        print(row("(a) load + diff (PostgreSQL)", pg, "(reference)", True))
    b = results["b"]["diff"]["median_s"]
    print(row("(b) diff_versions, 10,000 params each", b, "< 50 ms", b < 0.050))
    c = results["c"]["build"]["median_s"]
    print(row(f"(c) changelog, {args.versions:,} versions, rendered md", c, "< 2 s", c < 2.0))
    d = results["d"]["history"]["median_s"]
    print(row(f"(d) git part, {args.commits:,} commits (capped list)", d, "< 2 s", d < 2.0))
    print(f"  load after: {load()}")
    write_json(args.json, results)


if __name__ == "__main__":
    main()
