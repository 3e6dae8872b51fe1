"""Compact profiles of tabular data: the baseline production data is judged against.

`profile_columns(columns)` takes a column set (name → 1-D numpy array) and returns a
`Profile`, a frozen, JSON-safe value stored with the version at registration. Per column:

- numeric (float/int/bool arrays, or strings that all parse as numbers): the missing rate,
  bin edges from the training quantiles (`bins` equal-frequency bins between the minimum and
  the maximum, plus an open bin below the minimum and one above the maximum, so values
  outside the training range show up), the count per bin, mean/std/min/max, and a seeded
  reservoir of up to `sample_size` raw values (the two-sample test in `drift.py` needs raw
  values; a histogram alone cannot give a KS statistic within the bins). Columns with at most
  `bins` distinct values get one bin per value instead (edges at the midpoints).
- categorical (anything else): the missing rate, the `top_k` most frequent categories with
  their counts, and one "other" bucket for the rest (a category never seen in training lands
  there in production).

Missing means NaN for numbers and None / "" / NA / NaN / null / None (any case) for text.

Bounded in time and memory: beyond `row_limit` rows a seeded uniform sample of `row_limit`
rows is profiled, and the profile says so (`sampled_rows`, `total_rows`, `row_limit`). Pure:
no I/O, no clock; readers for CSV and Parquet are in `capture/tables.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

PROFILE_FORMAT = 1
ROW_LIMIT = 100_000
BINS = 10
TOP_K = 20
SAMPLE_SIZE = 1_000
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnProfile:
    """One column's baseline. `counts` has one entry per bin (numeric: `len(edges) + 1`,
    the first and last being the open ends; categorical: `len(categories) + 1`, the last being
    "other"); missing values are counted apart in `missing`."""

    name: str
    kind: Kind
    rows: int  # rows profiled (missing included)
    missing: int
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()  # numeric
    categories: tuple[str, ...] = ()  # categorical
    sample: tuple[float, ...] = ()  # numeric: seeded reservoir of raw values
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "missing_rate": round(self.missing_rate, 6),
            "counts": list(self.counts),
        }
        if self.kind == "numeric":
            out.update(
                edges=list(self.edges),
                sample=list(self.sample),
                mean=self.mean,
                std=self.std,
                min=self.min,
                max=self.max,
            )
        else:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        return cls(
            name=data["name"],
            kind=data["kind"],
            rows=int(data["rows"]),
            missing=int(data["missing"]),
            counts=tuple(int(c) for c in data["counts"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
            sample=tuple(float(v) for v in data.get("sample", ())),
            mean=data.get("mean"),
            std=data.get("std"),
            min=data.get("min"),
            max=data.get("max"),
        )


@dataclass(frozen=True)
class Profile:
    """A table's profile: its columns, and how many rows it was built from."""

    columns: tuple[ColumnProfile, ...]
    total_rows: int
    sampled_rows: int
    row_limit: int
    seed: int = 0
    source: str | None = None  # "csv", "parquet", "arrays"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sampled(self) -> bool:
        return self.sampled_rows < self.total_rows

    def column(self, name: str) -> ColumnProfile | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "total_rows": self.total_rows,
            "sampled_rows": self.sampled_rows,
            "row_limit": self.row_limit,
            "seed": self.seed,
            "source": self.source,
            "notes": list(self.notes),
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            columns=tuple(ColumnProfile.from_dict(c) for c in data["columns"]),
            total_rows=int(data["total_rows"]),
            sampled_rows=int(data["sampled_rows"]),
            row_limit=int(data["row_limit"]),
            seed=int(data.get("seed", 0)),
            source=data.get("source"),
            notes=tuple(data.get("notes", ())),
        )


# -- building ---------------------------------------------------------------------------------


def profile_columns(
    columns: Mapping[str, np.ndarray],
    *,
    total_rows: int | None = None,
    row_limit: int = ROW_LIMIT,
    seed: int = 0,
    bins: int = BINS,
    top_k: int = TOP_K,
    sample_size: int = SAMPLE_SIZE,
    source: str | None = "arrays",
    notes: tuple[str, ...] = (),
) -> Profile:
    """Profile equal-length 1-D arrays. More than `row_limit` rows: a seeded sample of
    `row_limit` rows (the same rows for every column) is profiled. `total_rows` is the size
    of the table the arrays were sampled from, when a reader sampled already."""
    lengths = {len(a) for a in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    rng = np.random.default_rng(seed)
    if n > row_limit:
        keep = np.sort(rng.choice(n, size=row_limit, replace=False))
        columns = {name: np.asarray(a)[keep] for name, a in columns.items()}
        sampled = row_limit
    else:
        sampled = n
    profiled = tuple(
        profile_column(
            name, np.asarray(values), bins=bins, top_k=top_k, sample_size=sample_size, rng=rng
        )
        for name, values in columns.items()
    )
    return Profile(
        columns=profiled,
        total_rows=max(total_rows if total_rows is not None else n, n),
        sampled_rows=sampled,
        row_limit=row_limit,
        seed=seed,
        source=source,
        notes=notes,
    )


def profile_column(
    name: str,
    values: np.ndarray,
    *,
    bins: int = BINS,
    top_k: int = TOP_K,
    sample_size: int = SAMPLE_SIZE,
    rng: np.random.Generator | None = None,
) -> ColumnProfile:
    rng = rng if rng is not None else np.random.default_rng(0)
    numeric = as_numeric(values)
    if numeric is not None:
        return _numeric_profile(name, numeric, bins, sample_size, rng)
    return _categorical_profile(name, values, top_k)


def as_numeric(values: np.ndarray) -> np.ndarray | None:
    """`values` as float64 with NaN for missing, or None when it is not a numeric column."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    if values.dtype.kind not in "OUS":
        return None
    strings = _strings(values)
    try:
        return strings.astype(np.float64)  # the common case: every value a number
    except ValueError:
        pass
    uniques, inverse = np.unique(strings, return_inverse=True)
    parsed = np.empty(len(uniques))
    for i, text in enumerate(uniques.tolist()):
        if text.strip().lower() in MISSING_TOKENS:
            parsed[i] = np.nan
            continue
        try:
            parsed[i] = float(text)
        except ValueError:
            return None
    return parsed[inverse]


def text_counts(values: np.ndarray) -> dict[str, int]:
    """How often each value occurs, as text, with "" standing for every missing value."""
    if values.dtype.kind in "fiub":
        numbers = values.astype(np.float64, copy=False)
        present = numbers[np.isfinite(numbers)]
        uniques, counts = np.unique(present, return_counts=True)
        pairs = zip(uniques.tolist(), counts.tolist(), strict=True)
        out = {_number_text(u): int(c) for u, c in pairs}
        if len(present) < len(numbers):
            out[""] = len(numbers) - len(present)
        return out
    uniques, counts = np.unique(_strings(values), return_counts=True)
    out = {}
    for text, count in zip(uniques.tolist(), counts.tolist(), strict=True):
        key = "" if text.strip().lower() in MISSING_TOKENS else text
        out[key] = out.get(key, 0) + int(count)
    return out


def _strings(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "U":
        return values
    if values.dtype.kind == "S":
        return values.astype(str)
    return np.array(["" if v is None else str(v) for v in values.tolist()], dtype=str)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def numeric_edges(present: np.ndarray, bins: int) -> np.ndarray:
    """Edges for `bin_numeric`: equal-frequency cut points from the quantiles, the minimum
    first and just above the maximum last; one bin per value for few distinct values."""
    if len(present) == 0:
        return np.array([], dtype=np.float64)
    distinct = np.unique(present)
    if len(distinct) <= bins:
        mids = (distinct[:-1] + distinct[1:]) / 2
        inner = mids
    else:
        inner = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    low, high = float(distinct[0]), float(np.nextafter(distinct[-1], np.inf))
    return np.concatenate([[low], inner[(inner > low) & (inner < high)], [high]])


def bin_numeric(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts per bin (len(edges) + 1) plus the missing count last; vectorised."""
    missing = ~np.isfinite(values)
    present = values[~missing] if missing.any() else values
    index = np.searchsorted(edges, present, side="right")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return np.append(counts, int(missing.sum()))


def bin_categorical(categories: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """Counts per category, "other", then missing."""
    position = {c: i for i, c in enumerate(categories)}
    out = np.zeros(len(categories) + 2, dtype=np.int64)
    other, missing = len(categories), len(categories) + 1
    for value, count in text_counts(values).items():
        out[missing if value == "" else position.get(value, other)] += count
    return out


def _numeric_profile(
    name: str, values: np.ndarray, bins: int, sample_size: int, rng: np.random.Generator
) -> ColumnProfile:
    missing_mask = ~np.isfinite(values)  # infinities count as missing
    present = values[~missing_mask]
    edges = numeric_edges(present, bins)
    counts = bin_numeric(edges, present)[:-1] if len(edges) else np.zeros(1, dtype=np.int64)
    if len(present) > sample_size:
        sample = rng.choice(present, size=sample_size, replace=False)
    else:
        sample = present
    stats: dict[str, float | None] = {"mean": None, "std": None, "min": None, "max": None}
    if len(present):
        stats = {
            "mean": float(present.mean()),
            "std": float(present.std()),
            "min": float(present.min()),
            "max": float(present.max()),
        }
    return ColumnProfile(
        name=name,
        kind="numeric",
        rows=len(values),
        missing=int(missing_mask.sum()),
        counts=tuple(int(c) for c in counts),
        edges=tuple(float(e) for e in edges),
        sample=tuple(float(v) for v in np.sort(sample)),
        **stats,
    )


def _categorical_profile(name: str, values: np.ndarray, top_k: int) -> ColumnProfile:
    counts = text_counts(values)
    missing = counts.pop("", 0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = ranked[:top_k]
    other = sum(c for _, c in ranked[top_k:])
    return ColumnProfile(
        name=name,
        kind="categorical",
        rows=len(values),
        missing=missing,
        counts=(*(c for _, c in kept), other),
        categories=tuple(v for v, _ in kept),
    )


def histogram(column: ColumnProfile, values: np.ndarray) -> np.ndarray | None:
    """A batch's counts in `column`'s bins, missing last, or None when the batch's values
    cannot be read as the column's kind (text in a numeric column)."""
    if column.kind == "numeric":
        numeric = as_numeric(values)
        if numeric is None:
            return None
        if not column.edges:
            finite = np.isfinite(numeric)
            return np.array([0, int(finite.sum()), int((~finite).sum())])
        return bin_numeric(np.asarray(column.edges), numeric)
    return bin_categorical(column.categories, values)


def baseline_histogram(column: ColumnProfile) -> np.ndarray:
    """The stored counts with the missing count appended (same layout as `histogram`)."""
    if column.kind == "numeric" and not column.edges:
        return np.array([0, 0, column.missing])
    return np.append(np.asarray(column.counts, dtype=np.int64), column.missing)
