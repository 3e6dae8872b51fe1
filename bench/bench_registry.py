"""Registry benchmarks against the budgets of DESIGN.md §7 / the performance issue.

    .venv/bin/python bench/bench_registry.py [--mlflow-python ../mlflow-venv/bin/python]
        [--postgres URL] [--json out.json] [--quick]

(a) register a version with 200 params + 20 metrics × 500 steps: `Registry.register(draft)`
    alone, and the whole `track()` block (params, 10,000 log_metric calls, git + environment
    capture, register), median of ≥ 20, fresh SQLite registry each time; optionally PostgreSQL.
    MLflow: one run with 200 params + 20 × 500 metric points via log_batch + a model version.
(b) `Run.log_metric` amortised over 1,000,000 calls inside `track()`, and the final write.
    MLflow: per-call `MlflowClient.log_metric`.
(c) `list_versions(limit=50)`, `count_versions`, `load()`, `latest_version` on a model with
    10,000 versions, in process.
(d) `modeltrail show MODEL VERSION`, `modeltrail list MODEL`, `modeltrail --help` as fresh
    processes, median wall of 10.
(e) `import modeltrail.core` vs `import mlflow` in fresh interpreters.

Without --mlflow-python (or when mlflow is missing there) the MLflow half prints
"mlflow not installed, skipping comparison" and the modeltrail half still runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    fmt,
    load,
    machine,
    median_time,
    report,
    run_mlflow,
    summary,
    write_json,
)

from modeltrail.core import Registry, VersionDraft, track

MODELTRAIL = str(Path(sys.executable).with_name("modeltrail"))
N_PARAMS, N_METRICS, N_STEPS = 200, 20, 500


def make_params(n: int = N_PARAMS) -> dict:
    # Nested like a real config: 10 groups of 20, flattened to dotted keys by the registry.
    return {f"group{g}": {f"param_{i}": i * 0.5 for i in range(20)} for g in range(n // 20)}


def make_points(metrics: int = N_METRICS, steps: int = N_STEPS) -> dict:
    now = time.time()
    return {
        f"metric_{m}": [(s, 1.0 / (s + 1) + m, now + s) for s in range(steps)]
        for m in range(metrics)
    }


def make_git_repo(path: Path) -> None:
    """A small committed repository for the track() block's git capture (deterministic)."""
    path.mkdir(parents=True, exist_ok=True)
    for i in range(20):
        (path / f"module_{i}.py").write_text(f"X = {i}\n" * 50)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=path, check=True, env=env, capture_output=True)
    (path / "module_0.py").write_text("X = 'dirty'\n")  # a dirty tree: the diff gets hashed


# -- (a) register ----------------------------------------------------------------------------


def bench_register(reps: int, tmp: Path, postgres: str | None) -> dict:
    print("(a) register a version with 200 params + 20 metrics × 500 steps", flush=True)
    template = tmp / "template.db"
    Registry.open(f"sqlite:///{template}").close()  # migrate once; copies are fresh registries
    params = make_params()
    points = make_points()
    draft = VersionDraft(model="bench-model", params=params, metric_points=points)
    out: dict = {}

    registries: list[Registry] = []

    def fresh() -> None:
        for r in registries:
            r.close()
        registries.clear()
        db = tmp / f"reg-{time.perf_counter_ns()}.db"
        shutil.copyfile(template, db)
        registries.append(Registry.open(f"sqlite:///{db}"))

    out["register_sqlite"] = median_time(
        lambda: registries[0].register(draft, actor="bench"), reps, setup=fresh
    )
    report("Registry.register(draft), SQLite, capture done before", out["register_sqlite"])

    repo = tmp / "project"
    make_git_repo(repo)
    names = [f"metric_{m}" for m in range(N_METRICS)]
    values = [1.0 / (s + 1) for s in range(N_STEPS)]

    def block(registry: Registry) -> None:
        with track("bench-model", registry=registry, base_dir=repo, actor="bench") as run:
            run.log_params(params)
            for v in values:
                for name in names:
                    run.log_metric(name, v)

    # The first block in a process also pays for capture_environment() (cached per process)
    # and the first `import git`: report it apart.
    fresh()
    t0 = time.perf_counter()
    block(registries[0])
    out["track_block_first_in_process_s"] = time.perf_counter() - t0
    print(f"  {'track() block, first in the process':<58} {fmt(time.perf_counter() - t0):>18}")
    out["track_block_sqlite"] = median_time(lambda: block(registries[0]), reps, setup=fresh)
    report("track() block incl. git + env capture, SQLite", out["track_block_sqlite"])

    # Where the block's time goes (one sample each, after warm-up).
    from modeltrail.core.capture.environment import capture_environment
    from modeltrail.core.capture.git import capture_code

    out["capture_code"] = median_time(lambda: capture_code(repo), max(5, reps // 4))
    report("  of which capture_code (git, dirty tree)", out["capture_code"])
    out["capture_environment_cached"] = median_time(capture_environment, 5)
    report("  of which capture_environment (cached per process)", out["capture_environment_cached"])

    def uncached_env() -> None:
        capture_environment.cache_clear()
        capture_environment()

    out["capture_environment_uncached"] = median_time(uncached_env, 5)
    report(
        "  capture_environment uncached (first call of a process)",
        out["capture_environment_uncached"],
    )
    for r in registries:
        r.close()

    if postgres:
        out.update(bench_register_postgres(postgres, draft, reps))
    return out


def bench_register_postgres(admin_url: str, draft: VersionDraft, reps: int) -> dict:
    """Register on a bench database created for the run and dropped afterwards."""
    import psycopg

    name = f"modeltrail_bench_{os.getpid()}"
    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        print(f"  PostgreSQL not reachable ({exc}); skipping", flush=True)
        return {}
    out: dict = {}
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = admin_url.rsplit("/", 1)[0]
        registry = Registry.open(f"{base}/{name}")
        try:
            # Each repetition registers the first version of a new model: same work as a
            # fresh registry without re-running the migrations.
            counter = iter(range(10**6))
            drafts = {}

            def setup() -> None:
                i = next(counter)
                drafts["d"] = VersionDraft(
                    model=f"bench-model-{i}",
                    params=draft.params,
                    metric_points=draft.metric_points,
                )

            out["register_postgres"] = median_time(
                lambda: registry.register(drafts["d"], actor="bench"), reps, setup=setup
            )
            report("Registry.register(draft), PostgreSQL (local)", out["register_postgres"])
        finally:
            registry.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return out


# -- (b) log_metric ------------------------------------------------------------------------


def bench_log_metric(calls: int, reps: int, tmp: Path) -> dict:
    print(f"(b) log_metric inside track(), {calls:,} calls", flush=True)
    template = tmp / "template.db"
    names = [f"metric_{m}" for m in range(N_METRICS)]
    outer = calls // len(names)
    values = [1.0 / (s + 1) for s in range(outer)]
    loop_times, write_times, empty_times = [], [], []
    for rep in range(reps):
        db = tmp / f"lm-{rep}.db"
        shutil.copyfile(template, db)
        registry = Registry.open(f"sqlite:///{db}")
        try:
            marks: dict[str, float] = {}
            with track(
                "bench-model",
                registry=registry,
                actor="bench",
                capture_code=False,
                capture_environment=False,
            ) as run:
                log = run.log_metric
                t0 = time.perf_counter()
                for v in values:
                    for name in names:
                        log(name, v)
                marks["loop"] = time.perf_counter() - t0
                marks["exit"] = time.perf_counter()
            write_times.append(time.perf_counter() - marks["exit"])
            loop_times.append(marks["loop"])
            assert run.record is not None
            assert sum(m.history_count for m in run.record.metrics.values()) == outer * len(names)
            # The same loop calling a no-op: the loop's own cost, to separate it out.
            noop = lambda name, value: None  # noqa: E731
            t0 = time.perf_counter()
            for v in values:
                for name in names:
                    noop(name, v)
            empty_times.append(time.perf_counter() - t0)
        finally:
            registry.close()
            db.unlink()
    n = outer * len(names)
    per_call = [t / n for t in loop_times]
    per_call_net = [(t - e) / n for t, e in zip(loop_times, empty_times, strict=True)]
    out = {
        "calls": n,
        "per_call": summary(per_call),
        "per_call_minus_loop_overhead": summary(per_call_net),
        "final_write": summary(write_times),
    }
    report("log_metric per call, amortised (loop included)", out["per_call"])
    report("log_metric per call, minus an empty call loop", out["per_call_minus_loop_overhead"])
    report(f"final write of {n:,} points (draft + register + load)", out["final_write"])
    return out


# -- (c) many versions -------------------------------------------------------------------------


def seed(db: Path, versions: int) -> dict:
    """`versions` versions of "big-model": 200 params + 20 metrics × 10 points each, and the
    newest one with 200 params + 20 metrics × 500 points (the one `show` displays)."""
    registry = Registry.open(f"sqlite:///{db}")
    params = make_params()
    small = make_points(N_METRICS, 10)
    draft = VersionDraft(model="big-model", params=params, metric_points=small)
    t0 = time.perf_counter()
    try:
        for i in range(versions - 1):
            registry.register(draft, actor="bench")
            if (i + 1) % 2000 == 0:
                rate = (i + 1) / (time.perf_counter() - t0)
                print(f"    seeded {i + 1:,} versions ({rate:.0f}/s, load {load()})", flush=True)
        registry.register(
            VersionDraft(model="big-model", params=params, metric_points=make_points()),
            actor="bench",
        )
    finally:
        registry.close()
    elapsed = time.perf_counter() - t0
    return {"versions": versions, "seconds": elapsed, "per_second": versions / elapsed}


def bench_many_versions(db: Path, versions: int, reps: int) -> dict:
    print(f"(c) a model with {versions:,} versions, in process", flush=True)
    out: dict = {}
    if db.exists():
        print(f"  reusing seeded registry {db}")
    else:
        out["seed"] = seed(db, versions)
        s = out["seed"]
        print(
            f"  seeded {s['versions']:,} versions in {s['seconds']:.1f} s"
            f" ({s['per_second']:.0f} registrations/s, load {load()})",
            flush=True,
        )
    registry = Registry.open(f"sqlite:///{db}")
    try:
        count = registry.count_versions("big-model")
        latest = registry.latest_version("big-model")
        middle = f"1.0.{count // 2}"
        out["count"], out["latest"] = count, latest
        registry.list_versions("big-model", limit=50)  # warm the page cache
        out["list_versions_50"] = median_time(
            lambda: registry.list_versions("big-model", limit=50), reps
        )
        report("list_versions(limit=50)", out["list_versions_50"])
        out["count_versions"] = median_time(lambda: registry.count_versions("big-model"), reps)
        report("count_versions", out["count_versions"])
        out["list_plus_count"] = median_time(
            lambda: (
                registry.list_versions("big-model", limit=50),
                registry.count_versions("big-model"),
            ),
            reps,
        )
        report("list_versions(50) + count_versions (what `list` does)", out["list_plus_count"])
        out["latest_version"] = median_time(lambda: registry.latest_version("big-model"), reps)
        report("latest_version", out["latest_version"])
        out["load_latest"] = median_time(lambda: registry.load("big-model", latest), reps)
        report(f"load({latest}) — 200 params, 20 × 500 points", out["load_latest"])
        out["load_middle"] = median_time(lambda: registry.load("big-model", middle), reps)
        report(f"load({middle}) — 200 params, 20 × 10 points", out["load_middle"])
        out["load_latest_history"] = median_time(
            lambda: registry.load("big-model", latest, history=True), reps
        )
        report(f"load({latest}, history=True)", out["load_latest_history"])
        out["list_models"] = median_time(registry.list_models, reps)
        report("list_models", out["list_models"])
    finally:
        registry.close()
    return out


# -- (d) CLI as a fresh process ------------------------------------------------------------------


def bench_cli(db: Path, reps: int, latest: str) -> dict:
    print("(d) the CLI as a fresh process (wall, median)", flush=True)
    url = f"sqlite:///{db}"
    cwd = tempfile.mkdtemp(prefix="modeltrail-cli-")  # no .env there
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELTRAIL_")}
    env["COLUMNS"] = "120"
    cases = {
        "show": [MODELTRAIL, "--db", url, "show", "big-model", latest],
        "show_json": [MODELTRAIL, "--db", url, "show", "big-model", latest, "--json"],
        "show_newest": [MODELTRAIL, "--db", url, "show", "big-model"],
        "list": [MODELTRAIL, "--db", url, "list", "big-model"],
        "help": [MODELTRAIL, "--help"],
        "python_baseline": [sys.executable, "-c", "pass"],
    }
    out: dict = {}
    for name, cmd in cases.items():
        check = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        if check.returncode != 0:
            print(f"  {name}: exit {check.returncode}: {check.stderr.strip()[-500:]}")
            out[name] = {"error": check.stderr.strip()[-500:]}
            continue

        def once(cmd: list[str] = cmd) -> None:
            subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)

        out[name] = median_time(once, reps)
        report(f"{' '.join(c if len(c) < 40 else '…' for c in cmd[1:])}", out[name])
    shutil.rmtree(cwd, ignore_errors=True)
    return out


# -- (e) import time ---------------------------------------------------------------------------


def _import_time(statement: str, reps: int) -> tuple[dict, dict]:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    inproc, wall = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/tmp"
        )
        wall.append(time.perf_counter() - t0)
        inproc.append(float(res.stdout.strip().splitlines()[-1]))
    return summary(inproc), summary(wall)


def bench_import(reps: int) -> dict:
    print("(e) import time in a fresh interpreter", flush=True)
    out: dict = {}
    # `modeltrail.core` resolves its names lazily; a training script also touches `track`,
    # which loads the registry and SQLAlchemy: both are reported.
    for key, statement in (
        ("import", "import modeltrail.core"),
        ("import_track", "from modeltrail.core import track, Registry"),
    ):
        out[key], out[f"{key}_process_wall"] = _import_time(statement, reps)
        report(f"{statement} (in-process perf_counter)", out[key])
        report("  same, whole `python -c` process (wall)", out[f"{key}_process_wall"])
    return out


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mlflow-python", help="python of a side venv with mlflow installed")
    parser.add_argument(
        "--postgres",
        help="also register on PostgreSQL: an admin URL such as "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (a bench database is created "
        "and dropped)",
    )
    parser.add_argument("--reps", type=int, default=20, help="repetitions for (a) and (c)")
    parser.add_argument("--calls", type=int, default=1_000_000, help="log_metric calls for (b)")
    parser.add_argument("--versions", type=int, default=10_000, help="versions to seed for (c)")
    parser.add_argument(
        "--seed-db", help="keep (and reuse) the seeded registry at this path instead of a tmp dir"
    )
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions and 1,000 versions (smoke test)"
    )
    parser.add_argument(
        "--only", default="abcde", help="run only these parts, e.g. --only ad (default abcde)"
    )
    args = parser.parse_args()
    if args.quick:
        args.reps, args.calls, args.versions = 3, 100_000, 1_000

    results: dict = {"machine": machine(), "load_start": load(), "args": vars(args)}
    print(f"modeltrail registry benchmarks — {results['machine']}, load {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-bench-"))
    try:
        if "a" in args.only or "b" in args.only:
            Registry.open(f"sqlite:///{tmp / 'template.db'}").close()
        if "a" in args.only:
            results["register"] = bench_register(args.reps, tmp, args.postgres)
            results["mlflow_register"] = run_mlflow(
                args.mlflow_python, "register", "--reps", str(args.reps)
            )
            if results["mlflow_register"]:
                m = results["mlflow_register"]
                print(
                    f"  {'MLflow run + log_batch + model version (SQLite)':<58} median"
                    f" {fmt(m['full_median_s']):>11}  (n={m['reps']}, load {m['load']});"
                    f" of which model version {fmt(m['register_model_median_s'])}",
                    flush=True,
                )
                for key in ("register_sqlite", "track_block_sqlite"):
                    ratio = m["full_median_s"] / results["register"][key]["median_s"]
                    results["register"][f"{key}_speedup_vs_mlflow"] = ratio
                    print(f"  speed-up vs MLflow, {key}: {ratio:.1f}×", flush=True)
        if "b" in args.only:
            results["log_metric"] = bench_log_metric(args.calls, max(3, args.reps // 4), tmp)
            results["mlflow_log_metric"] = run_mlflow(args.mlflow_python, "log_metric")
            if results["mlflow_log_metric"]:
                m = results["mlflow_log_metric"]
                print(
                    f"  {'MLflow MlflowClient.log_metric per call':<58} median"
                    f" {fmt(m['per_call_median_s']):>11}  (n={m['calls']}, load {m['load']})",
                    flush=True,
                )
        seed_db = Path(args.seed_db) if args.seed_db else tmp / "seeded.db"
        latest = None
        if "c" in args.only:
            results["many_versions"] = bench_many_versions(seed_db, args.versions, args.reps)
            latest = results["many_versions"]["latest"]
        if "d" in args.only:
            if latest is None:
                if not seed_db.exists():
                    bench_many_versions(seed_db, args.versions, 1)
                with Registry.open(f"sqlite:///{seed_db}") as registry:
                    latest = registry.latest_version("big-model")
            results["cli"] = bench_cli(seed_db, 10, latest)
        if "e" in args.only:
            results["import"] = bench_import(10)
            results["mlflow_import"] = run_mlflow(args.mlflow_python, "import", "--reps", "10")
            if results["mlflow_import"]:
                m = results["mlflow_import"]
                print(
                    f"  {'import mlflow (in-process perf_counter)':<58} median"
                    f" {fmt(m['import_median_s']):>11}  (n={m['reps']}, load {m['load']});"
                    f" process wall {fmt(m['process_wall_median_s'])}",
                    flush=True,
                )
        if args.mlflow_python and Path(args.mlflow_python).exists():
            results["mlflow_version"] = run_mlflow(args.mlflow_python, "version")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_end"] = load()
    print(f"done, load {load()}")
    write_json(args.json, results)


if __name__ == "__main__":
    main()
