"""Metric ingest: one registration carrying 1,000,000 metric points (issue 18, budget 4).

    .venv/bin/python bench/bench_ingest.py [--points 1000000] [--metrics 20] [--reps 3]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The points are logged through `Run.log_metric` (untimed), then `Registry.register(draft)` is
timed: validation, the version row, the metric rows and points, the content digest, the audit
event, the commit and the read-back. Points/s = points / that time. Each repetition registers
into a fresh SQLite file (and, with --postgres, the next version of a model in a bench
database created and dropped here).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load

from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import Run


def make_draft(points: int, metrics: int):  # type: ignore[no-untyped-def]
    run = Run("ingest", base_dir=tempfile.gettempdir())
    per = points // metrics
    for m in range(metrics):
        name = f"metric_{m:02d}"
        for step in range(per):
            run.log_metric(name, 1.0 / (step + 1 + m), step=step)
    return run.draft(capture_code=False, capture_environment=False)


def timed(registry: Registry, draft, reps: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        registry.register(draft, actor="bench")
        times.append(time.perf_counter() - started)
    return times


def show(label: str, points: int, times: list[float]) -> None:
    median = statistics.median(times)
    print(
        f"  {label:<12} {points:,} points: median {median:.3f} s = {points / median:,.0f} points/s"
        f" (min {min(times):.3f}, max {max(times):.3f}, n={len(times)}, load {load()})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    draft = make_draft(args.points, args.metrics)
    total = sum(len(p) for p in draft.metric_points.values())
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for rep in range(args.reps):
            with Registry.open(f"sqlite:///{tmp}/ingest-{rep}.db") as registry:
                times += timed(registry, draft, 1)
        show("SQLite", total, times)
    if args.postgres:
        from sqlalchemy import create_engine, text

        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"modeltrail_bench_ingest_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            with Registry.open(url) as registry:
                show("PostgreSQL", total, timed(registry, draft, args.reps))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
