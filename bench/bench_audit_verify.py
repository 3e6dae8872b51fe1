"""`audit verify` over a long trail: time and peak memory for N audit events (keyed chain).

    .venv/bin/python bench/bench_audit_verify.py [--events 1000000] [--versions 1000]

Builds a SQLite registry with `--versions` real registrations (params, metrics, data), then
appends monitoring-observation events (what makes a trail long in practice) chained under
MODELTRAIL_AUDIT_KEY, straight into the table in one transaction. Each verify runs in a fresh
process, which reports its own wall time and peak RSS, at a quarter of the events and at all
of them: constant memory means the same peak for both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import load

KEY = "bench-audit-key-" + "x" * 32

VERIFY = r"""
import json, resource, sys, time
from modeltrail.core.registry.writer import Registry
url, key = sys.argv[1:]
from modeltrail.core.store.engine import make_engine
registry = Registry(make_engine(url), audit_key=key)
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
started, cpu0 = time.perf_counter(), cpu()
result = registry.verify_audit()
took, cpu_took = time.perf_counter() - started, cpu() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ok": result.ok, "events": result.events_checked, "seconds": took,
                  "cpu": cpu_took, "peak_mb": peak, "problem": result.problem}))
"""


def build(path: Path, versions: int, events: int) -> None:
    from modeltrail.core.lifecycle import audit
    from modeltrail.core.records import VersionDraft
    from modeltrail.core.registry.writer import Registry
    from modeltrail.core.store.engine import ensure_schema, make_engine

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    registry = Registry(engine, audit_key=KEY)
    for i in range(versions):
        registry.register(
            VersionDraft(
                "fraud",
                params={"lr": 0.001 * (i + 1), "depth": i % 12, "features": {"n": 40 + i % 7}},
                metric_points={
                    "loss": [(s, 1.0 / (s + 1 + i), 1_790_000_000.0 + s) for s in range(20)]
                },
            ),
            actor="bench",
        )
    key = KEY.encode()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        seq, prev = cur.execute("SELECT seq, hash FROM audit_head").fetchone()
        stamp = cur.execute("SELECT created_at FROM audit_events WHERE seq = ?", (seq,)).fetchone()[
            0
        ]
        rows = []
        for n in range(events - seq):
            seq += 1
            after = audit.canonical_json({"kind": "metrics", "status": "ok", "rows": n % 500})
            fields = (seq, stamp, "monitor", "monitor", "fraud", "1.0.0", None, after, None, prev)
            digest = audit.event_hash(
                seq=seq,
                created_at=stamp,
                actor="monitor",
                action="monitor",
                model="fraud",
                version="1.0.0",
                before=None,
                after=after,
                reason=None,
                prev_hash=prev,
                key=key,
            )
            rows.append((*fields, digest, 1))
            prev = digest
        cur.execute("BEGIN")
        cur.executemany(
            'INSERT INTO audit_events (seq, created_at, actor, action, model, version, "before",'
            ' "after", reason, prev_hash, hash, keyed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
            rows,
        )
        cur.execute("UPDATE audit_head SET seq = ?, hash = ?", (seq, prev))
        cur.execute("COMMIT")
    finally:
        raw.close()
    registry.close()


def verify(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", VERIFY, f"sqlite:///{path}", KEY],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for events in (args.events // 4, args.events):
            path = Path(tmp) / f"trail-{events}.db"
            started = time.perf_counter()
            build(path, args.versions, events)
            built = time.perf_counter() - started
            result = verify(path)
            print(
                f"{events:>9,} events ({args.versions} versions): verify "
                f"{result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU, "
                f"peak RSS {result['peak_mb']:.0f} MB, ok={result['ok']} "
                f"(built in {built:.0f} s; load {load()})",
                flush=True,
            )
            assert result["ok"], result["problem"]


if __name__ == "__main__":
    main()
