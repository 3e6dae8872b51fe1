"""Registration without artifacts, the path every version takes: the same figures on any
release (it uses only what existed before the vault), so a before/after comparison runs this
one file under each release's interpreter.

- `Registry.register(draft)` of 200 params + 20 metrics × 500 steps, fresh SQLite registry;
- the `track()` block (params, 10,000 log_metric calls, register; no git/environment capture);
- `modeltrail register MODEL --no-git --no-env --param … --metric …` as fresh processes.

Run: PYTHON bench/bench_plain_register.py [--reps 20] [--process-reps 10]
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
from _common import child_env, median_time


def median(fn, reps: int, setup=None) -> tuple[float, float, float]:
    found = median_time(fn, reps, setup)
    return found["median_s"], found["min_s"], found["max_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--process-reps", type=int, default=10)
    args = parser.parse_args()

    import modeltrail.core as core
    from modeltrail.core import Registry, VersionDraft, track

    print(f"modeltrail from {Path(core.__file__).parent}, load {os.getloadavg()[0]:.2f}")
    params = {f"group{g}": {f"param_{i}": i * 0.5 for i in range(20)} for g in range(10)}
    now = time.time()
    points = {
        f"metric_{m}": [(s, 1.0 / (s + 1) + m, now + s) for s in range(500)] for m in range(20)
    }
    tmp = Path(tempfile.mkdtemp(prefix="plain-register-"))
    try:
        template = tmp / "template.db"
        Registry.open(f"sqlite:///{template}").close()
        registries: list = []

        def fresh() -> None:
            for r in registries:
                r.close()
            registries.clear()
            db = tmp / f"reg-{time.perf_counter_ns()}.db"
            shutil.copyfile(template, db)
            registries.append(Registry.open(f"sqlite:///{db}"))

        draft = VersionDraft(model="bench-model", params=params, metric_points=points)
        reg = median(lambda: registries[0].register(draft, actor="bench"), args.reps, fresh)
        print(
            f"Registry.register(draft), SQLite:     median {reg[0] * 1000:7.1f} ms"
            f"  (min {reg[1] * 1000:.1f}, max {reg[2] * 1000:.1f}, n={args.reps})"
        )

        def block() -> None:
            with track(
                "bench-model",
                registry=registries[0],
                base_dir=tmp,
                actor="bench",
                capture_code=False,
                capture_environment=False,
            ) as run:
                run.log_params(params)
                for step in range(500):
                    for m in range(20):
                        run.log_metric(f"metric_{m}", 1.0 / (step + 1))

        blk = median(block, args.reps, fresh)
        print(
            f"track() block, no git/env capture:    median {blk[0] * 1000:7.1f} ms"
            f"  (min {blk[1] * 1000:.1f}, max {blk[2] * 1000:.1f}, n={args.reps})"
        )
        for r in registries:
            r.close()

        exe = str(Path(sys.executable).with_name("modeltrail"))
        env = {
            **child_env(),
            "MODELTRAIL_DATABASE_URL": f"sqlite:///{tmp / 'cli.db'}",
            "MODELTRAIL_CACHE_DIR": str(tmp / "cache"),
        }
        subprocess.run([exe, "init"], env=env, check=True, capture_output=True, cwd=tmp)
        command = [
            exe,
            "register",
            "bench-cli",
            "--no-git",
            "--no-env",
            "--param",
            "lr=0.1",
            "--param",
            "depth=6",
            "--metric",
            "auc=0.91",
        ]
        proc = median(
            lambda: subprocess.run(command, env=env, check=True, capture_output=True, cwd=tmp),
            args.process_reps,
        )
        print(
            f"modeltrail register (process):        median {proc[0] * 1000:7.1f} ms"
            f"  (min {proc[1] * 1000:.1f}, max {proc[2] * 1000:.1f}, n={args.process_reps})"
        )
        print(f"load at the end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
