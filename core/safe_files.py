"""Reading params/metrics files that may be hostile: bounded, regular files only, no bombs.

- Only regular files are read: a FIFO would block forever and `/dev/zero` never ends, so
  both are refused at once (opened non-blocking, checked with fstat before any read).
- Size is capped (MODELTRAIL_PARAMS_MAX_BYTES, 10 MiB by default) and so is the number of
  keys after expansion (MODELTRAIL_PARAMS_MAX_KEYS, 100,000): a 544-byte YAML whose anchors
  expand to millions of params is refused before anything is built. YAML is composed first
  (aliases stay shared nodes, nothing is copied), its expanded size counted, and only then
  constructed.
- A key given twice in one mapping is an error (JSON and YAML), never "the last one wins".
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from modeltrail.core.errors import UsageError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_KEYS = 100_000


def read_regular_file(path: str, what: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of `path`, refusing anything but a regular file of at most max_bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UsageError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{what} file {path} is not a regular file (a pipe, device or folder)")
        if info.st_size > max_bytes:
            raise UsageError(
                f"{what} file {path} is {info.st_size} bytes, over the limit of {max_bytes}",
                hint="raise MODELTRAIL_PARAMS_MAX_BYTES if it is meant to be that large",
            )
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            raw = handle.read(max_bytes + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > max_bytes:  # grew while we read it
        raise UsageError(f"{what} file {path} is over the limit of {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} file {path} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})"
        ) from None


def load_json(text: str, what: str, *, max_keys: int = DEFAULT_MAX_KEYS) -> Any:
    count = [0]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"the key {key!r} appears twice in one object")
            out[key] = value
        count[0] += len(out)
        if count[0] > max_keys:
            raise ValueError(f"more than {max_keys} keys (MODELTRAIL_PARAMS_MAX_KEYS)")
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None


def load_yaml(text: str, what: str, *, max_keys: int = DEFAULT_MAX_KEYS) -> Any:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{what} is not valid YAML: {first}") from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply") from None
    if node is None:
        return None
    try:
        size = _expanded_size(node, {}, set(), what)
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply") from None
    if size > max_keys:
        raise UsageError(
            f"{what} expands to {size} values (anchors and aliases included), over the limit "
            f"of {max_keys}",
            hint="raise MODELTRAIL_PARAMS_MAX_KEYS if it is meant to be that large",
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise UsageError(f"{what} is not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def _expanded_size(node: Any, sizes: dict[int, int], active: set[int], what: str) -> int:
    """How many values `node` becomes once every alias is expanded (memoised per node, so
    counting costs the composed graph, not its expansion)."""
    import yaml

    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:
        raise UsageError(f"{what} refers to itself (a recursive YAML alias)")
    active.add(key)
    total = 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                if k.value in seen:
                    raise UsageError(f"{what}: the key {k.value!r} appears twice in one mapping")
                seen.add(k.value)
            total += _expanded_size(k, sizes, active, what) + _expanded_size(v, sizes, active, what)
    elif isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(v, sizes, active, what) for v in node.value)
    active.discard(key)
    sizes[key] = total
    return total
