"""The demo's data: synthetic card transactions, generated deterministically from a seed."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

SEED = 7
FEATURES = ("amount", "hour", "merchant_risk", "distance_km", "txn_last_24h", "account_age_days")
LABEL = "is_fraud"
_CSV_FORMATS = ("%.2f", "%d", "%.4f", "%.2f", "%d", "%d", "%d")


@dataclass(frozen=True)
class DemoData:
    """Synthetic card transactions: a training set whose labels miss the fraud reported late
    (chargebacks arrive weeks after the transaction), a correctly labelled test set, and the
    transactions of the following month."""

    train_x: np.ndarray
    train_y: np.ndarray
    late_chargeback: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    new_x: np.ndarray
    new_y: np.ndarray

    def first_train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.train_x, np.where(self.late_chargeback, 0, self.train_y)

    def refreshed_train(self) -> tuple[np.ndarray, np.ndarray]:
        """Late chargebacks relabelled as fraud, and the new month appended."""
        return np.vstack([self.train_x, self.new_x]), np.concatenate([self.train_y, self.new_y])


def generate_data(seed: int = SEED) -> DemoData:
    rng = np.random.default_rng(seed)
    train_x, train_y = _transactions(rng, 2000)
    test_x, test_y = _transactions(rng, 2000)
    late = (train_y == 1) & (rng.random(len(train_y)) < 0.35)
    new_x, new_y = _transactions(rng, 1000)
    return DemoData(train_x, train_y, late, test_x, test_y, new_x, new_y)


def _transactions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` transactions, about 8% fraud. Fraud is larger, further from home, at any hour,
    at riskier merchants and on younger accounts, with a lot of overlap."""
    fraud = rng.random(n) < 0.08
    amount = np.where(fraud, rng.lognormal(3.9, 1.3, n), rng.lognormal(3.4, 1.0, n))
    hour = np.where(fraud, rng.integers(0, 24, n), np.clip(rng.normal(14, 4, n), 0, 23).round())
    merchant_risk = np.where(fraud, rng.beta(2.6, 4, n), rng.beta(2, 5, n))
    distance = np.where(fraud, rng.lognormal(2.0, 1.4, n), rng.lognormal(1.5, 1.0, n))
    recent = np.where(fraud, rng.poisson(2.6, n), rng.poisson(2.0, n))
    account_age = np.where(fraud, rng.exponential(500, n), rng.exponential(900, n))
    x = np.column_stack([amount, hour, merchant_risk, distance, recent, account_age])
    return x, fraud.astype(int)


def to_csv(x: np.ndarray, y: np.ndarray) -> str:
    out = io.StringIO()
    np.savetxt(
        out,
        np.column_stack([x, y]),
        fmt=_CSV_FORMATS,
        delimiter=",",
        header=",".join([*FEATURES, LABEL]),
        comments="",
    )
    return out.getvalue()
