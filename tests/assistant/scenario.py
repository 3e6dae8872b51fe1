"""A fixed registry for the question evaluation: a fraud model's life over six weeks, written at
known moments (the clock is set before each step), plus a small churn model.

What it holds, so questions can be checked against it (all times UTC; NOW is Wed 2026-12-02
10:00, so "yesterday" is Dec 1, "since Monday" is from Nov 30, "last week" is Nov 23–29):

    fraud-detector
    1.0.0  2026-10-20 ana   sklearn 1.4.2  lr 0.1  depth 6 trees 100  roc_auc .85  -> production
           2026-10-22 (ana, "first release"); archived 11-06; retired 11-25 by erin
    1.1.0  2026-11-03 ben   lr 0.05 trees 200      roc_auc .87   golden 11-05 (erin);
           production 11-06 11:30 (ben, "better auc"); archived 11-24
    1.2.0  2026-11-18 cho   dirty tree, sklearn 1.5.0, depth 8   roc_auc .88  staging 11-19 (cho);
           production 11-24 09:15 (dana, "shadow test passed"); archived by 1.2.1 on 12-01 07:00;
           back by the rollback 12-01 07:04 (dana, "latency spike") — in production now
    1.2.1  2026-11-30 ana   lr 0.03, new data (DVC md5)          roc_auc .875 production
           12-01 07:00 (ben, "fresh data"), rolled back 07:04
    1.3.0  2026-12-01 15:00 erin  trees 300, numpy 2.1.0          roc_auc .89 staging 12-02 08:00
    churn-model 1.0.0 (bob, production), 1.0.1 (bob)
    production 1.2.0 reports live roc_auc 0.80 on 12-02 09:00 (decay)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.lifecycle.rules import GateRules
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

MODEL = "fraud-detector"
CHURN = "churn-model"
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
DATA_OLD = hashlib.sha256(b"transactions-2026-10").hexdigest()
DATA_NEW = hashlib.sha256(b"transactions-2026-11").hexdigest()
DVC_MD5 = "3f2a9c4e8b7d6a5f4e3d2c1b0a998877"
COMMITS = {v: hashlib.sha1(v.encode()).hexdigest() for v in ("a", "b", "c", "d", "e")}
PEOPLE = ("ana", "ben", "cho", "dana", "erin", "bob")


class SetClock:
    """The registry's clock: whatever moment the seed sets before each step."""

    def __init__(self) -> None:
        self.moment = NOW

    def __call__(self) -> dt.datetime:
        return self.moment

    def at(self, text: str) -> None:
        self.moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _env(sklearn: str, numpy: str = "1.26.4") -> Any:
    return environment_from_parts(
        python_version="3.11.9",
        platform="Linux-6.1-x86_64",
        packages={"scikit-learn": sklearn, "numpy": numpy, "pandas": "2.2.2"},
    )


def _draft(
    version: str,
    *,
    metrics: tuple[float, float, float, float, float],
    lr: float,
    depth: int,
    trees: int,
    commit: str,
    sklearn: str,
    numpy: str = "1.26.4",
    data: str = DATA_OLD,
    dvc: str | None = None,
    dirty: bool = False,
    description: str,
) -> VersionDraft:
    roc, pr, ll, acc, f1 = metrics
    points = {
        name: [(0, value, 1_790_000_000.0)]
        for name, value in (
            ("roc_auc", roc), ("pr_auc", pr), ("log_loss", ll), ("accuracy", acc), ("f1_macro", f1)
        )
    }  # fmt: skip
    return VersionDraft(
        model=MODEL,
        version=version,
        params={
            "model": {"learning_rate": lr, "max_depth": depth, "n_estimators": trees},
            "subsample": 0.8,
        },
        metric_points=points,
        data=(
            DataSnapshot(
                "train", "data/transactions.parquet", "file", data, 10_000, 1, dvc_md5=dvc
            ),
        ),
        code=CodeState("/src/fraud", COMMITS[commit], "main", None, dirty),
        environment=_env(sklearn, numpy),
        description=description,
    )


def seed_scenario(url: str) -> None:
    clock = SetClock()
    registry = Registry.open(url, clock=clock)
    try:
        _seed(registry, clock)
    finally:
        registry.close()


def _seed(r: Registry, clock: SetClock) -> None:
    clock.at("2026-10-20T09:00")
    r.register(_draft("1.0.0", metrics=(0.85, 0.60, 0.42, 0.91, 0.70), lr=0.1, depth=6,
                      trees=100, commit="a", sklearn="1.4.2", description="first model"),
               actor="ana")  # fmt: skip
    r.set_gate_rules(MODEL, GateRules(allow_kinds=("missing_lineage", "metric_regression",
                                                   "dirty_tree")), actor="admin")  # fmt: skip
    clock.at("2026-10-22T10:00")
    r.promote(MODEL, "1.0.0", actor="ana", reason="first release")
    clock.at("2026-11-03T14:00")
    r.register(_draft("1.1.0", metrics=(0.87, 0.63, 0.39, 0.92, 0.72), lr=0.05, depth=6,
                      trees=200, commit="b", sklearn="1.4.2", description="more trees"),
               actor="ben")  # fmt: skip
    clock.at("2026-11-05T16:00")
    r.set_golden(MODEL, "1.1.0", actor="erin", reason="signed-off baseline")
    clock.at("2026-11-06T11:30")
    r.promote(MODEL, "1.1.0", actor="ben", reason="better auc")
    clock.at("2026-11-18T16:20")
    r.register(_draft("1.2.0", metrics=(0.88, 0.65, 0.37, 0.925, 0.74), lr=0.05, depth=8,
                      trees=200, commit="c", sklearn="1.5.0", dirty=True,
                      description="deeper trees"), actor="cho")  # fmt: skip
    clock.at("2026-11-19T10:00")
    r.promote(MODEL, "1.2.0", to="staging", actor="cho", reason="try it")
    clock.at("2026-11-24T09:15")
    r.promote(MODEL, "1.2.0", actor="dana", reason="shadow test passed")
    clock.at("2026-11-25T12:00")
    r.retire(MODEL, "1.0.0", actor="erin", reason="deprecated features")
    clock.at("2026-11-30T08:40")
    r.register(_draft("1.2.1", metrics=(0.875, 0.64, 0.38, 0.92, 0.73), lr=0.03, depth=8,
                      trees=200, commit="d", sklearn="1.5.0", data=DATA_NEW, dvc=DVC_MD5,
                      description="november data"), actor="ana")  # fmt: skip
    clock.at("2026-12-01T07:00")
    r.promote(MODEL, "1.2.1", actor="ben", reason="fresh data")
    clock.at("2026-12-01T07:04")
    r.rollback(MODEL, actor="dana", reason="latency spike")
    clock.at("2026-12-01T09:00")
    r.add_note(MODEL, "1.2.1", "p99 latency doubled after the rollout", actor="dana")
    clock.at("2026-12-01T15:00")
    r.register(_draft("1.3.0", metrics=(0.89, 0.66, 0.36, 0.93, 0.75), lr=0.03, depth=8,
                      trees=300, commit="e", sklearn="1.5.0", numpy="2.1.0", data=DATA_NEW,
                      description="300 trees"), actor="erin")  # fmt: skip
    clock.at("2026-12-02T08:00")
    r.promote(MODEL, "1.3.0", to="staging", actor="erin", reason="candidate for friday")

    clock.at("2026-11-10T10:00")
    r.register(VersionDraft(model=CHURN, metric_points={"recall": [(0, 0.61, 1.79e9)]},
                            description="baseline churn"), actor="bob")  # fmt: skip
    r.set_gate_rules(CHURN, GateRules(allow_kinds=("missing_lineage",)), actor="admin")
    clock.at("2026-11-12T10:00")
    r.promote(CHURN, "1.0.0", actor="bob", reason="first churn model")
    clock.at("2026-11-27T10:00")
    r.register(VersionDraft(model=CHURN, metric_points={"recall": [(0, 0.64, 1.79e9)]},
                            description="tuned threshold"), actor="bob")  # fmt: skip

    from modeltrail.core.monitoring.observe import report_metrics

    clock.at("2026-12-02T09:00")
    report_metrics(r, MODEL, {"roc_auc": 0.80}, actor="monitor")
