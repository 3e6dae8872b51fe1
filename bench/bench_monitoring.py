"""Monitoring benchmarks against the budgets of the monitoring issue.

    .venv/bin/python bench/bench_monitoring.py [--rows 1000000] [--columns 50] [--reps 3]
        [--csv DIR] [--json out.json]

(a) PSI of a batch of 1,000,000 rows × 50 columns (45 numeric, 5 categorical, as numpy
    arrays) against a stored profile (`batch_drift`: histograms, PSI, and the KS test on a
    5,000-value subsample per numeric column). Budget: < 5 s.
(b) Profiling the same table at registration (`profile_columns`, a seeded 100,000-row sample
    beyond the row limit). Budget: < 10 s, memory bounded by the sample.
(c) Profiling it from a CSV file (`profile_file`: one streamed pass choosing the sample among
    raw records, then parsing only those), with the peak RSS growth of the process.
    Budget: < 10 s. The CSV is written once into --csv DIR (default: a temp dir) and reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt, load, machine, median_time

from modeltrail.core.capture.tables import profile_file
from modeltrail.core.monitoring.drift import batch_drift
from modeltrail.core.monitoring.profiles import Profile, profile_columns


def table(rows: int, columns: int, *, seed: int, shift: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    categorical = min(5, columns)
    out: dict[str, np.ndarray] = {}
    for i in range(columns - categorical):
        out[f"n{i}"] = rng.normal(0.8 if shift and i == 0 else 0.0, 1.0, rows)
    for i in range(categorical):
        out[f"c{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e"]), rows)
    return out


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    names = list(columns)
    numeric = [n for n in names if columns[n].dtype.kind == "f"]
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        step = 100_000
        total = len(columns[names[0]])
        for start in range(0, total, step):
            parts = [
                np.char.mod("%.5f", columns[n][start : start + step])
                if n in numeric
                else columns[n][start : start + step]
                for n in names
            ]
            f.writelines(",".join(row) + "\n" for row in zip(*parts, strict=True))


def child_peak_rss_mb(path: Path) -> tuple[float, float]:
    """Peak RSS (VmHWM: ru_maxrss survives fork+exec on Linux) of a fresh process profiling
    `path`, and of one only importing."""
    import subprocess

    code = (
        "import sys\n"
        "from modeltrail.core.capture.tables import profile_file\n"
        "if sys.argv[1] != '-': profile_file(sys.argv[1])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]) / 1024)\n"
    )
    run = [sys.executable, "-c", code]
    peak = float(subprocess.run([*run, str(path)], capture_output=True, text=True).stdout)
    idle = float(subprocess.run([*run, "-"], capture_output=True, text=True).stdout)
    return peak, idle


def in_memory(args: argparse.Namespace, results: dict[str, object], path: Path) -> None:
    train = table(args.rows, args.columns, seed=1)
    batch = table(args.rows, args.columns, seed=2, shift=True)
    print(f"{args.rows:,} rows × {args.columns} columns; load {load()}")

    profiled = median_time(lambda: profile_columns(train), args.reps)
    profile = Profile.from_dict(json.loads(json.dumps(profile_columns(train).to_dict())))
    print(f"(b) profile arrays (100,000-row sample): {fmt(profiled['median_s'])}  (budget 10 s)")
    results["profile_arrays"] = profiled

    drift = median_time(lambda: batch_drift(profile, batch), args.reps)
    report = batch_drift(profile, batch)
    print(f"(a) PSI + KS of the batch vs the profile: {fmt(drift['median_s'])}  (budget 5 s); "
          f"flagged: {[c.column for c in report.flagged]}")  # fmt: skip
    results["psi"] = drift
    if not path.exists():
        started = time.perf_counter()
        write_csv(path, train)
        print(f"    wrote {path} ({path.stat().st_size / 1e6:.0f} MB) "
              f"in {fmt(time.perf_counter() - started)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--csv", type=Path, help="directory for the CSV (kept, reused)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results: dict[str, object] = {"machine": machine(), "load_before": load()}
    directory = args.csv or Path(tempfile.mkdtemp(prefix="modeltrail-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"train_{args.rows}x{args.columns}.csv"
    in_memory(args, results, path)  # the arrays are freed when it returns
    from_csv = median_time(lambda: profile_file(path), args.reps)
    peak, idle = child_peak_rss_mb(path)
    print(f"(c) profile the CSV file: {fmt(from_csv['median_s'])}  (budget 10 s); "
          f"peak RSS {peak:.0f} MB ({idle:.0f} MB after imports alone), "
          f"file {path.stat().st_size / 1e6:.0f} MB")  # fmt: skip
    results["profile_csv"] = {**from_csv, "peak_rss_mb": peak, "idle_rss_mb": idle}
    results["load_after"] = load()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
