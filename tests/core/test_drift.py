"""Profiles and drift on seeded synthetic data with known shifts: exactly the shifted columns
are flagged; PSI thresholds, KS, decay judging and the worsened rule (pure, no database)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from monitoring_seed import production, training, write_csv

from modeltrail.core.capture.tables import Reservoir, profile_file, read_table
from modeltrail.core.monitoring.drift import (
    Condition,
    DriftThresholds,
    batch_drift,
    judge_decay,
    ks_2samp,
    psi,
    worsened,
)
from modeltrail.core.monitoring.profiles import Profile, profile_columns
from modeltrail.core.records import MetricSpec


@pytest.fixture(scope="module")
def baseline() -> Profile:
    # Through JSON, as stored with a version.
    return Profile.from_dict(profile_columns(training()).to_dict())


def test_exactly_the_shifted_columns_are_flagged(baseline: Profile) -> None:
    report = batch_drift(baseline, production())
    assert {c.column for c in report.flagged} == {"score", "country"}
    assert report.status == "drift"
    by_name = {c.column: c for c in report.columns}
    for quiet in ("amount", "age", "channel", "items"):
        assert by_name[quiet].status == "none", by_name[quiet]
        assert by_name[quiet].psi < 0.1
    # worst first
    assert [c.status for c in report.columns[:2]] == ["drift", "drift"]
    assert report.columns[0].psi >= report.columns[1].psi >= report.columns[2].psi
    assert "training top 4" in (by_name["country"].detail or "")
    assert by_name["score"].ks_pvalue is not None and by_name["score"].ks_pvalue < 1e-6


def test_no_shift_flags_nothing(baseline: Profile) -> None:
    report = batch_drift(baseline, production(shifted=False))
    assert report.flagged == ()
    assert report.status == "none"


def test_thresholds_are_configurable(baseline: Profile) -> None:
    strict = batch_drift(baseline, production(), DriftThresholds(moderate=0.05, drift=50.0))
    assert strict.flagged == ()
    assert {c.column for c in strict.columns if c.status == "moderate"} >= {"score", "country"}
    assert DriftThresholds().status(0.25) == "drift"
    assert DriftThresholds().status(0.15) == "moderate"
    assert DriftThresholds().status(0.05) == "none"
    with pytest.raises(ValueError):
        DriftThresholds(moderate=0.3, drift=0.2)


def test_psi_values() -> None:
    same = np.array([10, 20, 30, 40])
    assert psi(same, same) == pytest.approx(0.0)
    # a bin empty in training and full live: large but finite (epsilon)
    assert 1 < psi(np.array([50, 50, 0]), np.array([25, 25, 50])) < 10
    # symmetric formula
    a, b = np.array([30, 70]), np.array([60, 40])
    assert psi(a, b) == pytest.approx(psi(b, a))


def test_missing_values_count_as_their_own_bin(baseline: Profile) -> None:
    live = production(shifted=False)
    amount = live["amount"].copy()
    amount[: len(amount) // 2] = np.nan
    report = batch_drift(baseline, {"amount": amount})
    (col,) = report.columns
    assert col.status == "drift"
    assert col.missing_rate == pytest.approx(0.5)
    assert "missing 0% → 50%" in (col.detail or "")


def test_ks_matches_the_reference_values() -> None:
    rng = np.random.default_rng(3)
    d, p = ks_2samp(rng.normal(0, 1, 1000), rng.normal(0, 1, 5000))
    assert d < 0.06 and p > 0.05
    d, p = ks_2samp(rng.normal(0, 1, 1000), rng.normal(0.3, 1, 5000))
    assert d > 0.1 and p < 1e-6


def test_prediction_skew_against_validation_predictions() -> None:
    rng = np.random.default_rng(1)
    train = profile_columns({"x": rng.normal(0, 1, 5000)})
    validation = profile_columns(
        {"x": rng.normal(0, 1, 5000), "prediction": rng.uniform(0, 1, 5000)}
    )
    live = {"x": rng.normal(0, 1, 3000), "prediction": rng.uniform(0, 1, 3000) ** 3}
    report = batch_drift(train, live, prediction_profile=validation)
    skew = {c.column: c for c in report.columns}["prediction"]
    assert skew.role == "prediction" and skew.status == "drift"
    assert [c.column for c in report.flagged] == ["prediction"]


def test_profiles_are_bounded_and_say_so() -> None:
    rng = np.random.default_rng(0)
    profile = profile_columns({"v": rng.normal(0, 1, 5000)}, row_limit=1000, sample_size=100)
    assert (profile.total_rows, profile.sampled_rows, profile.row_limit) == (5000, 1000, 1000)
    assert profile.sampled
    (column,) = profile.columns
    assert column.rows == 1000 and sum(column.counts) == 1000
    assert len(column.sample) == 100
    # 10 quantile bins between min and max, plus the two open ends
    assert len(column.counts) == len(column.edges) + 1 == 12
    assert column.counts[0] == column.counts[-1] == 0


def test_few_distinct_values_get_one_bin_each() -> None:
    column = profile_columns({"flag": np.array([0, 1, 1, 0, 1] * 100)}).columns[0]
    assert column.kind == "numeric"
    assert column.counts == (0, 200, 300, 0)


def test_categorical_top_k_and_other() -> None:
    values = np.array([f"c{i % 30}" for i in range(3000)] + [""] * 100)
    column = profile_columns({"cat": values}, top_k=5).columns[0]
    assert column.kind == "categorical"
    assert len(column.categories) == 5
    assert column.counts[-1] == 2500  # other
    assert column.missing == 100


def test_csv_is_read_with_a_seeded_reservoir(tmp_path: Path) -> None:
    data = training(n=3000)
    data["country"][:10] = ""
    path = tmp_path / "train.csv"
    write_csv(path, data)
    table = read_table(path, row_limit=1000, seed=1)
    assert (table.total_rows, table.sampled_rows) == (3000, 1000)
    assert table.columns["score"].dtype == np.float64
    assert table.columns["country"].dtype == object
    again = read_table(path, row_limit=1000, seed=1)
    assert np.array_equal(table.columns["score"], again.columns["score"])
    whole = read_table(path, row_limit=10_000)
    assert whole.sampled_rows == 3000
    assert np.allclose(np.sort(whole.columns["score"]), np.sort(data["score"]))
    profile = profile_file(path, row_limit=1000)
    assert profile.column("country").missing_rate < 0.02  # type: ignore[union-attr]
    assert profile.source == "csv"


def test_csv_quoted_newlines_and_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text('a,b,c\n1,"two\nlines",3\n4,x\n\n5,"say ""hi""",6,extra\n')
    table = read_table(path)
    assert table.total_rows == 3
    assert table.columns["a"].tolist() == [1.0, 4.0, 5.0]
    assert table.columns["b"].tolist() == ["two\nlines", "x", 'say "hi"']
    assert np.isnan(table.columns["c"][1])


def test_a_column_turning_to_text_late_becomes_categorical(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = [str(i) for i in range(40_000)] + ["oops"]
    path.write_text("v\n" + "\n".join(rows) + "\n")
    table = read_table(path)
    assert table.columns["v"].dtype == object
    assert "oops" in set(table.columns["v"].tolist())


def test_parquet_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = training(n=2000)
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({k: v.tolist() for k, v in data.items()}), path)
    profile = profile_file(path, row_limit=500)
    assert (profile.total_rows, profile.sampled_rows) == (2000, 500)
    assert profile.column("country").kind == "categorical"  # type: ignore[union-attr]
    assert profile.column("score").kind == "numeric"  # type: ignore[union-attr]


def test_reservoir_is_uniform() -> None:
    counts = np.zeros(100)
    for seed in range(200):
        reservoir = Reservoir(10, seed)
        picked = []
        for start in range(0, 100, 7):
            chosen, slots = reservoir.select(min(7, 100 - start))
            sample = dict(zip(slots.tolist(), (start + chosen).tolist(), strict=True))
            picked.append(sample)
        final: dict[int, int] = {}
        for sample in picked:
            final.update(sample)
        assert len(final) == 10
        counts[list(final.values())] += 1
    # each row is kept with probability 10/100: 20 times in 200 draws on average
    assert counts.min() > 5 and counts.max() < 40


def test_decay_by_goal_and_tolerance() -> None:
    specs = {
        "accuracy": MetricSpec("accuracy", "maximize", 0.02),
        "latency": MetricSpec("latency", "minimize", 5.0),
    }
    offline = {"accuracy": 0.90, "latency": 100.0}
    judged = {
        d.metric: d
        for d in judge_decay(offline, {"accuracy": 0.89, "latency": 120.0, "new": 1.0}, specs)
    }
    assert judged["accuracy"].status == "ok"  # within tolerance
    assert judged["latency"].status == "decay" and judged["latency"].shortfall == 20.0
    assert judged["new"].status == "unknown"
    worse = judge_decay(offline, {"accuracy": 0.85}, specs)[0]
    assert worse.status == "decay" and worse.shortfall == pytest.approx(0.05)
    better = judge_decay(offline, {"accuracy": 0.99}, specs)[0]
    assert better.status == "ok" and better.shortfall == 0.0


def test_worsened() -> None:
    def cond(level: str, magnitude: float) -> Condition:
        return Condition("drift:x", True, level, magnitude)

    assert not worsened("drift", 0.3, cond("drift", 0.35))
    assert worsened("drift", 0.3, cond("drift", 0.45))
    assert worsened("moderate", 0.15, cond("drift", 0.21))
    assert not worsened("decay", 0.05, cond("decay", 0.07), tolerance=0.02, factor=1.5)
    assert not worsened("decay", 0.01, cond("decay", 0.02), tolerance=0.02, factor=1.5)
    assert worsened("decay", 0.05, cond("decay", 0.1), tolerance=0.02, factor=1.5)
