"""Reading tabular files (CSV, Parquet) into column arrays, bounded in memory.

`read_table(path, row_limit=…)` streams the file once and keeps a seeded uniform sample of at
most `row_limit` rows (reservoir sampling, Algorithm R, vectorised per chunk), so memory is
bounded by the sample however large the file is: numeric columns are kept as float64 arrays
(NaN for missing), other columns as arrays of str. The result says how many rows the file had
and how many were kept.

- CSV: the standard library's `csv` reader (first row = header; ragged rows padded or cut to
  the header). A column is numeric while every value seen parses as a number (missing tokens
  aside); the first value that does not turns it into text for good.
- Parquet: pyarrow, when installed (`pip install 'modeltrail[parquet]'`), batch by batch.

`profile_file` reads and profiles in one call; `is_table` says whether a path looks like one.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modeltrail.core.errors import DataPathError, UsageError
from modeltrail.core.monitoring.profiles import ROW_LIMIT, Profile, as_numeric, profile_columns
from modeltrail.core.safe_files import open_regular

CHUNK_ROWS = 16_384
# One CSV record (a row, quoted line breaks included) longer than this is not a table row but
# an unbalanced quote swallowing the rest of the file: refused rather than held in memory.
MAX_RECORD_CHARS = 1024 * 1024
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class TableSample:
    columns: dict[str, np.ndarray]
    total_rows: int
    sampled_rows: int
    row_limit: int
    source: str  # csv | parquet


def is_table(path: str | os.PathLike[str]) -> bool:
    return os.path.isfile(path) and Path(path).suffix.lower() in TABLE_SUFFIXES


def read_table(
    path: str | os.PathLike[str], *, row_limit: int = ROW_LIMIT, seed: int = 0
) -> TableSample:
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path, row_limit, seed)
        if suffix in (".parquet", ".pq"):
            return _read_parquet(path, row_limit, seed)
    except OSError as exc:
        raise DataPathError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None
    raise UsageError(
        f"{os.fspath(path)!r} is not a CSV or Parquet file",
        hint="tables are read from .csv, .parquet or .pq files",
    )


def profile_file(
    path: str | os.PathLike[str], *, row_limit: int = ROW_LIMIT, seed: int = 0
) -> Profile:
    table = read_table(path, row_limit=row_limit, seed=seed)
    return profile_columns(
        table.columns,
        total_rows=table.total_rows,
        row_limit=row_limit,
        seed=seed,
        source=table.source,
    )


class Reservoir:
    """Chooses a seeded uniform sample of at most `size` rows from a stream of row chunks."""

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 1:
            raise UsageError("the row limit must be at least 1")
        self.size = size
        self.seen = 0
        self.rng = np.random.default_rng(seed)

    @property
    def kept(self) -> int:
        return min(self.seen, self.size)

    def select(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """For the next chunk of `rows` rows: which of them enter the sample (indices in the
        chunk) and at which slots. A slot taken twice in one chunk goes to the later row."""
        index = np.arange(self.seen, self.seen + rows)
        self.seen += rows
        if index[0] >= self.size:
            slots = self.rng.integers(0, index + 1)
        else:
            slots = index.copy()
            late = index >= self.size
            if late.any():
                slots[late] = self.rng.integers(0, index[late] + 1)
        chosen = np.nonzero(slots < self.size)[0]
        slots = slots[chosen]
        if len(slots) > 1:
            reversed_slots = slots[::-1]
            slots, first = np.unique(reversed_slots, return_index=True)
            chosen = chosen[::-1][first]
        return chosen, slots


class ColumnStore:
    """Columns of a fixed number of rows, filled by slot: float64 while every value put in a
    column is numeric, else an object array of str (numbers already there become text)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: dict[str, np.ndarray] = {}

    def put(self, name: str, values: np.ndarray, slots: np.ndarray | slice) -> None:
        current = self.data.get(name)
        numeric = values.dtype.kind == "f"
        if current is None:
            current = (
                np.full(self.size, np.nan) if numeric else np.full(self.size, "", dtype=object)
            )
        elif current.dtype.kind == "f" and not numeric:
            current = _numbers_as_text(current)
        elif current.dtype.kind != "f" and numeric:
            values = _numbers_as_text(values)
        current[slots] = values
        self.data[name] = current

    def columns(self, rows: int) -> dict[str, np.ndarray]:
        return {name: values[:rows] for name, values in self.data.items()}


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = "" if v != v else (str(int(v)) if float(v).is_integer() else repr(v))
    return out


def _bounded_lines(f: Any) -> Any:
    """The file's lines, none longer than a record may be: plain iteration would read a file
    without line breaks into memory whole before any check could run."""
    for line in iter(lambda: f.readline(MAX_RECORD_CHARS + 1), ""):
        if len(line) > MAX_RECORD_CHARS:
            raise UsageError(
                f"a CSV line runs past {MAX_RECORD_CHARS} characters (no line breaks?)",
                hint="a CSV table has one record per line",
            )
        yield line


def _records(lines: Any) -> Any:
    """CSV records as raw text, one per row, from the file's lines: a record continues over
    line breaks while a quoted field is open (an odd count of quote characters so far;
    escaped quotes come in pairs). Blank lines are skipped. Parsing is left to `csv`."""
    pending: str | None = None
    for line in lines:
        if pending is not None:
            pending += line
            if len(pending) > MAX_RECORD_CHARS:
                raise UsageError(
                    f"a CSV record runs past {MAX_RECORD_CHARS} characters (an unbalanced quote?)",
                    hint="check the file's quoting",
                )
            if line.count('"') % 2:
                yield pending
                pending = None
            continue
        if '"' in line and line.count('"') % 2:
            pending = line
            continue
        if line.strip():
            yield line
    if pending is not None:
        yield pending


def _read_csv(path: str | os.PathLike[str], row_limit: int, seed: int) -> TableSample:
    """One pass choosing the sample among raw records (nothing parsed), then parsing only
    the records kept: the time is a line scan of the file plus the work on at most
    `row_limit` rows, and memory is the kept records."""
    reservoir = Reservoir(row_limit, seed)
    kept = np.empty(0, dtype=object)
    # Opened non-blocking and checked on the open file: a pipe or a device is not a table.
    fd = open_regular(path)
    if fd is None:
        raise UsageError(f"{os.fspath(path)!r} is not a regular file (a pipe or a device)")
    with open(fd, newline="", encoding="utf-8-sig", errors="replace") as f:
        records = _records(_bounded_lines(f))
        first = next(records, None)
        if first is None:
            return TableSample({}, 0, 0, row_limit, "csv")
        names = _unique_names(next(csv.reader([first])))
        chunk: list[str] = []
        for record in records:
            chunk.append(record)
            if len(chunk) == CHUNK_ROWS:
                kept = _keep(reservoir, chunk, kept)
                chunk = []
        if chunk:
            kept = _keep(reservoir, chunk, kept)
    rows = reservoir.kept
    store = ColumnStore(rows)
    width = len(names)
    text_columns: set[int] = set()
    for start in range(0, rows, CHUNK_ROWS):
        parsed = list(csv.reader(kept[start : start + CHUNK_ROWS].tolist()))
        parsed = [r if len(r) == width else (r + [""] * width)[:width] for r in parsed]
        part = slice(start, start + len(parsed))
        for position, values in enumerate(zip(*parsed, strict=True)):
            if position not in text_columns:
                numbers = _numbers(values)
                if numbers is not None:
                    store.put(names[position], numbers, part)
                    continue
                text_columns.add(position)
            store.put(names[position], np.array(values, dtype=object), part)
    columns = store.columns(rows)
    return TableSample(
        {name: columns.get(name, np.array([], dtype=object)) for name in names},
        reservoir.seen,
        rows,
        row_limit,
        "csv",
    )


def _keep(reservoir: Reservoir, chunk: list[str], kept: np.ndarray) -> np.ndarray:
    chosen, slots = reservoir.select(len(chunk))
    if len(chosen):
        if len(kept) < reservoir.kept:
            grown = np.empty(reservoir.kept, dtype=object)
            grown[: len(kept)] = kept
            kept = grown
        kept[slots] = [chunk[i] for i in chosen.tolist()]
    return kept


def _numbers(values: tuple[str, ...]) -> np.ndarray | None:
    try:
        return np.array(values, dtype=np.float64)  # every value a number: no per-value Python
    except ValueError:
        return as_numeric(np.array(values, dtype=str))


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column_{i + 1}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _read_parquet(path: str | os.PathLike[str], row_limit: int, seed: int) -> TableSample:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(
            "reading Parquet needs pyarrow",
            hint="pip install 'modeltrail[parquet]'",
        ) from None
    reservoir = Reservoir(row_limit, seed)
    store = ColumnStore(row_limit)
    parquet = pq.ParquetFile(path)
    names = list(parquet.schema_arrow.names)
    for batch in parquet.iter_batches(batch_size=65_536):
        chosen, slots = reservoir.select(batch.num_rows)
        if not len(chosen):
            continue
        taken = batch.take(pa.array(chosen))
        for name, column in zip(names, taken.columns, strict=True):
            store.put(name, _arrow_values(pa, column), slots)
    columns = store.columns(reservoir.kept)
    return TableSample(
        {name: columns.get(name, np.array([], dtype=object)) for name in names},
        reservoir.seen,
        reservoir.kept,
        row_limit,
        "parquet",
    )


def _arrow_values(pa: Any, column: Any) -> np.ndarray:
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
    values = column.to_pylist()
    return np.array(["" if v is None else str(v) for v in values], dtype=object)
