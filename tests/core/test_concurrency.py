"""Many writers at once: separate processes registering into one registry, on SQLite and on
PostgreSQL, end with every version complete, numbered without gaps, and one intact audit chain.

Each worker is a fresh interpreter (subprocess). Workers signal "ready" with a file, then wait
for a "go" file, so their registrations really overlap instead of running one after another.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, text

from modeltrail.core.capture.data import snapshot_data
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import engine as db
from modeltrail.core.store import schema

WORKERS = 8
PER_WORKER = 25

WORKER = r"""
import json, os, sys, time

url, worker, count, ready, go, data, mode = sys.argv[1:]
worker, count = int(worker), int(count)

from modeltrail.core.capture.data import snapshot_data
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

registry = Registry.open(url) if mode == "open-first" else None
snap = snapshot_data("train", data)
open(os.path.join(ready, str(worker)), "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no go signal within 60 s")
    time.sleep(0.002)
if registry is None:
    registry = Registry.open(url)
for i in range(count):
    now = time.time()
    draft = VersionDraft(
        "shared",
        params={"worker": worker, "iteration": i, "optimizer": {"lr": 0.001 * (i + 1)}},
        metric_points={
            "loss": [(step, 1.0 / (step + 1 + i), now + step) for step in range(5)],
            "accuracy": [(0, 0.5 + worker / 100, now)],
        },
        data=(snap,),
        tags={"worker": str(worker)},
        description=f"worker {worker} run {i}",
    )
    record = registry.register(draft, actor=f"worker-{worker}")
    print(json.dumps([worker, i, record.version]), flush=True)
registry.close()
"""


def run_workers(
    url: str, tmp_path: Path, *, workers: int, count: int, mode: str = "open-first"
) -> list[tuple[int, int, str]]:
    """Start `workers` processes, release them together, return (worker, i, version) lines."""
    ready = tmp_path / "ready"
    ready.mkdir()
    go = tmp_path / "go"
    data = tmp_path / "train.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(100)))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                str(w),
                str(count),
                str(ready),
                str(go),
                str(data),
                mode,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(ready.iterdir())) < workers:
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"a worker died before starting: {proc.stderr.read()}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "workers did not get ready within 60 s"
            time.sleep(0.01)
        go.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failures = [
        f"worker {w} exited {proc.returncode}: {err.strip()[-2000:]}"
        for w, (proc, (_out, err)) in enumerate(zip(procs, outputs, strict=True))
        if proc.returncode != 0
    ]
    assert not failures, "\n".join(failures)
    lines = [json.loads(line) for out, _err in outputs for line in out.splitlines()]
    return [(w, i, v) for w, i, v in lines]


def _count(registry: Registry, table: str) -> int:
    with registry.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(schema.metadata.tables[table])
        ).scalar_one()


def test_concurrent_auto_numbered_registrations(
    registry: Registry, db_url: str, tmp_path: Path
) -> None:
    results = run_workers(db_url, tmp_path, workers=WORKERS, count=PER_WORKER)
    total = WORKERS * PER_WORKER

    # Every registration succeeded and got its own number; together they have no gaps.
    assert len(results) == total
    versions = [version for _w, _i, version in results]
    assert sorted(versions, key=lambda v: int(v.split(".")[2])) == [
        f"1.0.{n}" for n in range(total)
    ]
    assert {(w, i) for w, i, _v in results} == {
        (w, i) for w in range(WORKERS) for i in range(PER_WORKER)
    }
    # Within one worker, numbers increase; across workers they interleave (a real overlap).
    by_worker: dict[int, list[int]] = {}
    for w, _i, version in results:
        by_worker.setdefault(w, []).append(int(version.split(".")[2]))
    assert all(patches == sorted(patches) for patches in by_worker.values())
    interleaved = [w for w, p in by_worker.items() if p[-1] - p[0] + 1 > len(p)]
    assert len(interleaved) >= 2, by_worker

    # Every version is whole: its own params, all metric points, its data snapshot, lineage.
    assert registry.count_versions("shared") == total
    snap = snapshot_data("train", str(tmp_path / "train.csv"))
    owner = {version: (w, i) for w, i, version in results}
    for n in range(total):
        version = f"1.0.{n}"
        w, i = owner[version]
        record = registry.load("shared", version, history=True)
        assert dict(record.params) == {
            "worker": w,
            "iteration": i,
            "optimizer.lr": 0.001 * (i + 1),
        }, version
        loss = record.metrics["loss"]
        assert loss.history_count == 5 and loss.history is not None and len(loss.history) == 5
        assert [p.step for p in loss.history] == [0, 1, 2, 3, 4]
        assert loss.value == 1.0 / (5 + i)
        assert record.metrics["accuracy"].value == 0.5 + w / 100
        assert record.data == (snap,)
        assert dict(record.tags) == {"worker": str(w)}
        assert record.actor == f"worker-{w}"
        assert record.parent == (f"1.0.{n - 1}" if n else None)

    # No stray rows anywhere.
    expected_rows = {
        "versions": total,
        "params": 3 * total,
        "metrics": 2 * total,
        "metric_points": 6 * total,
        "data_snapshots": total,
        "tags": total,
        "audit_events": total,
        "models": 1,
    }
    assert {table: _count(registry, table) for table in expected_rows} == expected_rows

    result = registry.verify_audit()
    assert (result.ok, result.events_checked) == (True, total), result.problem
    events = registry.audit_log("shared")
    assert sorted(e.version for e in events if e.version) == sorted(versions)


def test_concurrent_first_open_of_a_new_sqlite_file(tmp_path: Path) -> None:
    """Eight processes creating and migrating the same brand-new file at once all succeed."""
    path = tmp_path / "race" / "registry.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    results = run_workers(url, tmp_path, workers=WORKERS, count=1, mode="open-after-go")
    assert sorted(int(v.split(".")[2]) for _w, _i, v in results) == list(range(WORKERS))
    with Registry.open(url) as registry:
        assert registry.count_versions("shared") == WORKERS
        assert registry.verify_audit().events_checked == WORKERS
        with registry.engine.connect() as conn:
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert revisions == [(db.HEAD,)]


def test_opening_a_new_sqlite_file_waits_while_another_connection_switches_it(
    tmp_path: Path,
) -> None:
    """While one connection holds the write lock on a file not yet in WAL mode (what the first
    opener of a new registry does for a moment), SQLite refuses the WAL switch at once rather
    than waiting; opening must wait instead of failing with "database is locked"."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE elsewhere (x)")
    release = threading.Timer(0.3, holder.execute, ["COMMIT"])
    release.start()
    started = time.monotonic()
    try:
        with Registry.open(f"sqlite:///{path}") as registry:
            registry.register(VersionDraft("shared"), actor="a")
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.25
    assert _revision_of(path) == db.HEAD


def _revision_of(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()
