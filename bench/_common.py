"""Small helpers shared by the benchmark scripts: timing, machine facts, the MLflow subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
MLFLOW_SKIP = "mlflow not installed, skipping comparison"


def load() -> str:
    """The 1/5/15-minute load averages, as `uptime` prints them (2 cores shared with others)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def median_time(fn: Callable[[], Any], reps: int, setup: Callable[[], Any] | None = None) -> dict:
    """Median (and min/max) wall time of `fn()` over `reps` runs; `setup()` runs untimed first."""
    times = []
    for _ in range(reps):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return summary(times)


def summary(times: list[float]) -> dict:
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "reps": len(times),
        "load": load(),
    }


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a timed fresh process: `base` (default os.environ) without
    PYTHONDONTWRITEBYTECODE, so the untimed warm-up run writes the bytecode cache that an
    installed package has (pip compiles it at install). With the variable set and no cache,
    every run compiles modeltrail's modules from source: +30 % on `diff`, +46 % on `ask`
    (instructions counted with callgrind), which is not what a user waits for."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


def report(label: str, result: dict) -> None:
    print(
        f"  {label:<58} median {fmt(result['median_s']):>11}"
        f"  (min {fmt(result['min_s'])}, max {fmt(result['max_s'])}, n={result['reps']},"
        f" load {result['load']})",
        flush=True,
    )


def run_mlflow(python: str | None, *args: str, timeout: float = 1800) -> dict | None:
    """Run one case of mlflow_side.py in the side environment; None when it is not available."""
    if not python:
        print(f"  {MLFLOW_SKIP}", flush=True)
        return None
    if not Path(python).exists():
        print(f"  {MLFLOW_SKIP} ({python} does not exist)", flush=True)
        return None
    probe = subprocess.run(
        [python, "-c", "import mlflow"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        print(f"  {MLFLOW_SKIP} (import mlflow failed in {python})", flush=True)
        return None
    proc = subprocess.run(
        [python, str(BENCH_DIR / "mlflow_side.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd="/tmp",
    )
    if proc.returncode != 0:
        print(f"  mlflow side failed ({' '.join(args)}):\n{proc.stderr[-2000:]}", flush=True)
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load"] = load()
    return result


def write_json(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results written to {path}")


def python_info() -> str:
    return f"{sys.executable} ({platform.python_version()})"
