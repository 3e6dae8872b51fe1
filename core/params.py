"""Hyperparameters: flattening nested settings to dotted keys, and canonical JSON values."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from modeltrail.core.errors import InvalidParamError, ModeltrailError
from modeltrail.core.safe_files import DEFAULT_MAX_DEPTH

MAX_KEY_LENGTH = 500
# The params files' nesting limit, for params given in code too: a mapping that contains
# itself would otherwise recurse until Python's own limit (a RecursionError traceback).
MAX_DEPTH = DEFAULT_MAX_DEPTH


def flatten_params(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """`{"optimizer": {"lr": 0.01}}` -> `{"optimizer.lr": 0.01}`, values checked and JSON-plain.

    An empty nested mapping is kept as `{}` under its own key so that "no options" is recorded.
    """
    flat: dict[str, Any] = {}
    _flatten_into(flat, params, prefix, 0)
    return flat


def _too_deep(key: str) -> InvalidParamError:
    return InvalidParamError(
        f"param {key[:40]!r} is nested more than {MAX_DEPTH} levels deep (or contains itself)"
    )


def _flatten_into(flat: dict[str, Any], params: Mapping[str, Any], prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _too_deep(prefix.rstrip("."))
    if not isinstance(params, Mapping):
        raise InvalidParamError(
            f"params must be a mapping of names to values, got {type(params).__name__}"
        )
    for raw_key, value in params.items():
        if not isinstance(raw_key, str) or not raw_key:
            raise InvalidParamError(f"param name {raw_key!r} must be a non-empty string")
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping) and value:
            _flatten_into(flat, value, f"{key}.", depth + 1)
            continue
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidParamError(
                f"param name {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters"
            )
        if key in flat:
            raise InvalidParamError(f"param {key!r} is given twice (once nested, once dotted)")
        flat[key] = plain_value(key, value, depth)


def plain_value(key: str, value: Any, depth: int = 0) -> Any:
    """A JSON-plain copy of `value`, or an error naming the param."""
    if depth > MAX_DEPTH:
        raise _too_deep(key)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidParamError(f"param {key!r} is {value}, which JSON cannot hold")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [plain_value(key, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        # An empty mapping (flatten_params expands the others) or a mapping inside a list.
        plain: dict[str, Any] = {}
        for sub_key, item in value.items():
            if not isinstance(sub_key, str):
                raise InvalidParamError(
                    f"param {key!r} has a key {sub_key!r}; keys must be strings"
                )
            plain[sub_key] = plain_value(f"{key}.{sub_key}", item, depth + 1)
        return plain
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return plain_value(key, item(), depth)
    raise InvalidParamError(
        f"param {key!r} has a value of type {type(value).__name__}, which cannot be recorded",
        hint="params take numbers, strings, booleans, null, lists and nested mappings",
    )


def encode_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode_value(text: str) -> Any:
    return json.loads(text)


def parse_cli_value(text: str) -> Any:
    """`--param k=v` values: JSON when it parses (`0.1`, `true`, `[1,2]`), else the string.
    JSON nested too deeply is refused (FileLimitError), as in a params file; an object with
    a key twice is not JSON we take, so it stays the string it is."""
    from modeltrail.core.safe_files import load_json

    try:
        return load_json(text, "a --param value", error=_NotJson)
    except _NotJson:
        return text


class _NotJson(ModeltrailError):
    pass
