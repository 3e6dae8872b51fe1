"""Reading what people type: `k=v` pairs, and the metrics files' nesting. The files
themselves are read by the one guarded loader every reader of files uses (regular files
only; size, key, alias and nesting limits): `core.safe_files.load_mapping_file`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modeltrail.core.errors import UsageError
from modeltrail.core.params import parse_cli_value


def split_pair(text: str, what: str) -> tuple[str, str]:
    """`"lr=0.1"` -> `("lr", "0.1")`; a usage error naming `what` otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{what} {text!r} is not of the form KEY=VALUE")
    return key.strip(), value.strip()


def pairs_to_params(pairs: Iterable[str]) -> dict[str, Any]:
    """`--param optimizer.lr=0.01` values: JSON where they parse, else strings."""
    return {key: parse_cli_value(value) for key, value in (split_pair(p, "--param") for p in pairs)}


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
