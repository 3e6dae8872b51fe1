"""A registry of 100 models × 1,000 versions on PostgreSQL against one of 1 model × 1,000
(issue 18, budget 6: `list`, `show`, `diff` and the read API's version lookup within 2×).

    .venv/bin/python bench/bench_scale.py \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--reps 5] [--models 100]

The first model (`m000`: 1,000 versions, 40 params, 10 metrics, 2 tags each, 1.0.500 in
production) is registered through `Registry.register`; the 100-model database is a copy of
that one (`CREATE DATABASE … TEMPLATE`) whose other 99 models are cloned from `m000` with SQL
(versions, parents, params, metrics and their points, tags), then ANALYZEd. Both databases are
dropped at the end.

Timed, on each database, for one model (`m000` alone; `m050` among 100):
  `modeltrail --db URL list MODEL`, `show MODEL 1.0.500`, `diff MODEL 1.0.500 1.0.501` as
  fresh processes (median of --reps), and in process the read API's version lookup (what
  `GET /api/models/MODEL/versions/1.0.500` runs: resolve_version, load, the golden check,
  record_to_dict; median of 200). `list` of all models is shown too (it lists 100× more).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load
from sqlalchemy import create_engine, text

from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.serialize import record_to_dict
from modeltrail.core.store import schema

CLI = [sys.executable, "-m", "modeltrail.bot.cli"]
VERSIONS = 1000


def seed_one(url: str) -> None:
    with Registry.open(url) as registry:
        for i in range(VERSIONS):
            registry.register(
                VersionDraft(
                    "m000",
                    params={f"group{g}.param{p}": g * p + i for g in range(4) for p in range(10)},
                    metric_points={
                        f"metric_{m}": [(0, 0.5 + (i % 97) / 1000, 1.79e9)] for m in range(10)
                    },
                    tags={"team": "risk", "run": str(i)},
                ),
                actor="bench",
            )
        registry.promote("m000", "1.0.500", actor="bench", force=True, reason="bench")


def clone(url: str, models: int) -> None:
    """Models m001… as copies of m000, by SQL (audit events are not copied: not read here)."""
    skip = {"id", "model_id", "parent_id"}
    vcols = [c.name for c in schema.versions.c if c.name not in skip]
    listed = ", ".join(vcols)
    picked = ", ".join(f"ov.{c}" for c in vcols)
    same = "nv.version = ov.version AND nv.model_id <> src.id"
    src = "JOIN models src ON src.id = ov.model_id AND src.name = 'm000'"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO models (name, created_at, updated_at) SELECT "
                "'m' || lpad(k::text, 3, '0'), m.created_at, m.updated_at "
                "FROM models m, generate_series(1, :n) k WHERE m.name = 'm000'"
            ),
            {"n": models - 1},
        )
        conn.execute(
            text(
                f"INSERT INTO versions (model_id, {listed}) SELECT nm.id, {picked} "
                f"FROM versions ov {src} JOIN models nm ON nm.name <> 'm000' ORDER BY nm.id, ov.id"
            )
        )
        conn.execute(
            text(
                "UPDATE versions nv SET parent_id = np.id FROM versions ov "
                f"{src} JOIN versions op ON op.id = ov.parent_id, versions np "
                f"WHERE {same} AND np.model_id = nv.model_id AND np.version = op.version"
            )
        )
        for table, columns in (("params", "key, value"), ("tags", "key, value")):
            picked_child = ", ".join(f"c.{c.strip()}" for c in columns.split(","))
            conn.execute(
                text(
                    f"INSERT INTO {table} (version_id, {columns}) SELECT nv.id, {picked_child} "
                    f"FROM {table} c JOIN versions ov ON ov.id = c.version_id {src} "
                    f"JOIN versions nv ON {same}"
                )
            )
        conn.execute(
            text(
                "INSERT INTO metrics (version_id, name, value, step, timestamp, history_count) "
                "SELECT nv.id, c.name, c.value, c.step, c.timestamp, c.history_count "
                f"FROM metrics c JOIN versions ov ON ov.id = c.version_id {src} "
                f"JOIN versions nv ON {same}"
            )
        )
        conn.execute(
            text(
                "INSERT INTO metric_points (metric_id, seq, step, value, timestamp) "
                "SELECT nm.id, p.seq, p.step, p.value, p.timestamp FROM metric_points p "
                "JOIN metrics om ON om.id = p.metric_id "
                f"JOIN versions ov ON ov.id = om.version_id {src} "
                f"JOIN versions nv ON {same} "
                "JOIN metrics nm ON nm.version_id = nv.id AND nm.name = om.name"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        counts = conn.execute(
            text("SELECT (SELECT count(*) FROM models), (SELECT count(*) FROM versions)")
        ).one()
    engine.dispose()
    print(f"  cloned: {counts[0]} models, {counts[1]:,} versions", flush=True)


def process(args: list[str], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def api_lookup(url: str, model: str, reps: int = 200) -> float:
    with Registry.open(url) as registry:
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            version = registry.resolve_version(model, "1.0.500")
            record = registry.load(model, version)
            golden = registry.stage_version(model, "golden") == record.version
            record_to_dict(record)
            times.append(time.perf_counter() - started)
        assert not golden
    return statistics.median(times)


def measure(url: str, model: str, reps: int) -> dict[str, float]:
    db = [*CLI, "--db", url]
    return {
        f"list {model}": process([*db, "list", model], reps),
        f"show {model} 1.0.500": process([*db, "show", model, "1.0.500"], reps),
        f"diff {model} 1.0.500 1.0.501": process([*db, "diff", model, "1.0.500", "1.0.501"], reps),
        "API version lookup (in process)": api_lookup(url, model),
        "list (all models)": process([*db, "list"], reps),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    parser.add_argument("--seed-only", action="store_true", help="seed, keep, do not measure")
    parser.add_argument("--reuse", metavar="TAG", help="measure databases kept under TAG")
    args = parser.parse_args()
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    tag = args.reuse or uuid.uuid4().hex[:8]
    one, many = f"modeltrail_bench_one_{tag}", f"modeltrail_bench_many_{tag}"
    base = args.postgres.rsplit("/", 1)[0]
    keep = args.keep or args.seed_only
    try:
        if not args.reuse:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{one}"'))
            started = time.perf_counter()
            seed_one(f"{base}/{one}")
            print(
                f"  seeded m000: {VERSIONS:,} versions in {time.perf_counter() - started:.0f} s"
                f" (load {load()})",
                flush=True,
            )
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{many}" TEMPLATE "{one}"'))
            clone(f"{base}/{many}", args.models)
            if args.seed_only:
                print(f"kept under tag {tag}", flush=True)
                return
        print(f"measuring (load {load()})", flush=True)
        small = measure(f"{base}/{one}", "m000", args.reps)
        large = measure(f"{base}/{many}", "m050", args.reps)
        print(f"{'':<36} {'1 model':>10} {f'{args.models} models':>11}  ratio", flush=True)
        for (label, a), b in zip(small.items(), large.values(), strict=True):
            name = label.replace("m000", "MODEL")
            print(f"  {name:<34} {a * 1e3:8.1f} ms {b * 1e3:8.1f} ms  {b / a:5.2f}×", flush=True)
        print(f"(load {load()})", flush=True)
    finally:
        if not keep:
            with admin.connect() as conn:
                for name in (one, many):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
