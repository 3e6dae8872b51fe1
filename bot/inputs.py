"""Reading what people type and the files they point at: `k=v` pairs, params/metrics files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modeltrail.core.errors import UsageError
from modeltrail.core.params import parse_cli_value
from modeltrail.core.safe_files import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_KEYS,
    load_json,
    load_yaml,
    read_regular_file,
)


def split_pair(text: str, what: str) -> tuple[str, str]:
    """`"lr=0.1"` -> `("lr", "0.1")`; a usage error naming `what` otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{what} {text!r} is not of the form KEY=VALUE")
    return key.strip(), value.strip()


def pairs_to_params(pairs: Iterable[str]) -> dict[str, Any]:
    """`--param optimizer.lr=0.01` values: JSON where they parse, else strings."""
    return {key: parse_cli_value(value) for key, value in (split_pair(p, "--param") for p in pairs)}


def load_mapping_file(
    path: str,
    what: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> dict[str, Any]:
    """A YAML or JSON file holding a mapping (params.yaml, metrics.json, …): a regular file
    within the size and key limits, no key twice (see core/safe_files.py)."""
    file = Path(path)
    text = read_regular_file(path, what, max_bytes=max_bytes)
    where = f"{what} file {path}"
    if file.suffix.lower() == ".json":
        data = load_json(text, where, max_keys=max_keys)
    else:
        data = load_yaml(text, where, max_keys=max_keys)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError(f"{what} file {path} must hold a mapping of names to values")
    return dict(data)


def flatten_metrics(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Metrics files nest like DVC's (`{"test": {"auc": 0.9}}` -> `test.auc`). A list of
    numbers is a history, one point per step."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, f"{name}."))
        else:
            flat[name] = value
    return flat
