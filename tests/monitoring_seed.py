"""Seeded synthetic data with known shifts, shared by the monitoring tests."""

from __future__ import annotations

import numpy as np

N_TRAIN = 20_000
N_LIVE = 8_000


def training(seed: int = 7, n: int = N_TRAIN) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "amount": rng.lognormal(3.0, 1.0, n),
        "age": rng.normal(40, 12, n).round(),
        "score": rng.normal(0.0, 1.0, n),
        "country": rng.choice(["de", "fr", "uk", "es"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.35, 0.15]),
        "items": rng.poisson(3, n).astype(float),
    }


def production(seed: int = 8, n: int = N_LIVE, *, shifted: bool = True) -> dict[str, np.ndarray]:
    """Like `training`, with (when `shifted`) a mean shift in `score` and a new category
    in `country`; every other column drawn from the training distribution."""
    rng = np.random.default_rng(seed)
    out = {
        "amount": rng.lognormal(3.0, 1.0, n),
        "age": rng.normal(40, 12, n).round(),
        "score": rng.normal(0.8 if shifted else 0.0, 1.0, n),
        "country": rng.choice(["de", "fr", "uk", "es"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.35, 0.15]),
        "items": rng.poisson(3, n).astype(float),
    }
    if shifted:
        out["country"] = rng.choice(
            ["de", "fr", "uk", "es", "it"], n, p=[0.3, 0.25, 0.15, 0.05, 0.25]
        )
    return out


def write_csv(path, columns: dict[str, np.ndarray]) -> None:
    import csv

    names = list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*(columns[n].tolist() for n in names), strict=True))
