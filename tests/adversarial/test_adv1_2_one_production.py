"""Items 1 and 2 of the integrity issue: one production always, and a retired version never
comes back, under real concurrent writers on SQLite and PostgreSQL.

Writers are separate interpreters released together by a "go" file (the pattern of
tests/core/test_concurrency.py), so their register-then-promote really overlaps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from modeltrail.core.errors import ModeltrailError
from modeltrail.core.lifecycle.rules import LifecycleError
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

WRITERS = 8
ROUNDS = 3

PROMOTER = r"""
import json, os, sys, time
url, worker, rounds, ready, go = sys.argv[1:]
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
registry = Registry.open(url)
open(os.path.join(ready, worker), "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
for i in range(int(rounds)):
    record = registry.register(VersionDraft("race", params={"w": int(worker), "i": i}), actor="w")
    try:
        registry.promote("race", record.version, actor=f"worker-{worker}", force=True,
                         reason="race test")
        print(json.dumps(["promoted", record.version]), flush=True)
    except ModeltrailError as exc:
        print(json.dumps(["refused", exc.message]), flush=True)
registry.close()
"""


def _release(url: str, tmp_path: Path, script: str, workers: int, *extra: str) -> list[list[str]]:
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(w), *extra, str(ready), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(ready.iterdir())) < workers:
            assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs]  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _out, err in outputs]
    return [json.loads(line) for out, _err in outputs for line in out.splitlines()]


def _productions(registry: Registry, model: str) -> list[str]:
    return registry.model_state(model).in_stage("production")


def test_item1_concurrent_register_then_promote_leaves_one_production(
    registry: Registry, db_url: str, tmp_path: Path
) -> None:
    registry.register(VersionDraft("race"), actor="setup")  # the model exists, no production
    lines = _release(db_url, tmp_path, PROMOTER, WRITERS, str(ROUNDS))
    promoted = [v for kind, v in lines if kind == "promoted"]
    refused = [m for kind, m in lines if kind == "refused"]
    assert len(lines) == WRITERS * ROUNDS
    assert promoted, lines
    # Refusals only ever say why; nothing else goes wrong.
    assert all("run the command again" in m for m in refused), refused
    productions = _productions(registry, "race")
    print(
        f"{db_url.split(':')[0]}: {WRITERS} writers x {ROUNDS} register+promote: "
        f"{len(promoted)} promotions committed, {len(refused)} refused, "
        f"{len(productions)} production(s) at the end"
    )
    assert len(productions) == 1
    # The last committed promotion is the production; every earlier one was superseded.
    result = registry.verify_audit()
    assert result.ok, result.problem


def test_item1_the_database_refuses_a_second_production(registry: Registry) -> None:
    for _ in range(2):
        registry.register(VersionDraft("fraud"), actor="a")
    registry.promote("fraud", "1.0.0", actor="a", force=True, reason="test")
    with pytest.raises(IntegrityError), registry.engine.begin() as conn:
        conn.execute(text("UPDATE versions SET stage = 'production' WHERE version = '1.0.1'"))
    assert _productions(registry, "fraud") == ["1.0.0"]


def test_item2_rollback_racing_a_retirement_never_brings_the_retired_version_back(
    registry: Registry, db_url: str
) -> None:
    """Each round: A was production, B superseded it; one thread retires A while another
    rolls back from B (whose target would be A). Whatever order they commit in, A stays
    archived and retired."""
    outcomes: list[tuple[str, str]] = []
    for round_ in range(6):
        model = f"m{round_}"
        for _ in range(2):
            registry.register(VersionDraft(model), actor="a")
        registry.promote(model, "1.0.0", actor="a", force=True, reason="test")
        registry.promote(model, "1.0.1", actor="a", force=True, reason="test")
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def act(
            name: str,
            move: object,
            barrier: threading.Barrier = barrier,
            results: dict[str, str] = results,
        ) -> None:
            with Registry.open(db_url) as reg:
                barrier.wait()
                try:
                    move(reg)  # type: ignore[operator]
                    results[name] = "done"
                except ModeltrailError as exc:
                    results[name] = f"refused: {exc.message}"

        threads = [
            threading.Thread(
                target=act,
                args=("retire", lambda r, m=model: r.retire(m, "1.0.0", actor="x", reason="bad")),
            ),
            threading.Thread(
                target=act,
                args=("rollback", lambda r, m=model: r.rollback(m, actor="y", reason="oops")),
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        state = registry.model_state(model)
        assert state.stage_of("1.0.0") == "archived", (results, state.versions)
        assert results["retire"] == "done"
        if results["rollback"] == "done":
            # Committed first: it brought 1.0.0 back, then the retirement archived it again.
            assert state.production is None
        else:
            assert "no earlier production" in results["rollback"]
            assert state.production == "1.0.1"
        outcomes.append((results["rollback"][:7], str(state.production)))
    assert registry.verify_audit().ok
    with pytest.raises(LifecycleError):
        # Retired versions are off the rollback stack for good.
        registry.rollback("m0", actor="z", reason="again")
