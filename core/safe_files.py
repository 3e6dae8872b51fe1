"""Reading files that may be hostile: bounded, regular files only, no bombs. The one loader
for every file a person or another tool hands us (params and metrics files, `dvc.yaml`,
`dvc.lock`, `.dvc` files, MLflow's environment files, `.env` and `*_FILE` settings).

- Only regular files are read: a FIFO would block forever and `/dev/zero` never ends, so
  both are refused at once (opened non-blocking, checked with fstat before any read; a
  symlink is followed, so one pointing at a device is refused the same way).
- Size is capped (MODELTRAIL_PARAMS_MAX_BYTES, 10 MiB by default) and so is the number of
  values after expansion (MODELTRAIL_PARAMS_MAX_KEYS, 100,000): a 544-byte YAML whose anchors
  expand to millions of params is refused before anything is built. YAML is composed first
  (aliases stay shared nodes, nothing is copied), its expanded size and depth counted, and
  only then constructed. Nesting deeper than 100 levels is refused (JSON and YAML).
- A key given twice in one mapping is an error (JSON and YAML), never "the last one wins".

Going over a limit raises FileLimitError (bad input, exit 2) whoever reads; a file that does
not parse raises the caller's error class (`error=`), e.g. CaptureError for DVC files.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeltrail.core.errors import FileLimitError, ModeltrailError, UsageError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_KEYS = 100_000
DEFAULT_MAX_DEPTH = 100


@dataclass(frozen=True)
class FileLimits:
    """What a file may hold. `settings` says whether the limits come from the settings
    (MODELTRAIL_PARAMS_MAX_BYTES / _KEYS), so that the refusal may say how to raise them."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_keys: int = DEFAULT_MAX_KEYS
    max_depth: int = DEFAULT_MAX_DEPTH
    settings: bool = True


DEFAULT_LIMITS = FileLimits()
# `.env` and `*_FILE` secrets: read before any setting exists, so the cap is fixed.
CONFIG_LIMITS = FileLimits(max_bytes=1024 * 1024, settings=False)


def open_regular(path: str | os.PathLike[str], *, follow_links: bool = True) -> int | None:
    """A read-only descriptor of `path` if it is a regular file now, else None (closed).

    Opened without blocking, then checked on the descriptor, so what is read is what was
    checked: a pipe opened plainly waits for a writer forever, and a path can be swapped for
    one after any earlier stat. `follow_links=False` also refuses a symlink (OSError ELOOP).
    The caller wraps the descriptor as it reads (binary, text, unbuffered)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        return None
    return fd


def read_regular_file(
    path: str | os.PathLike[str],
    what: str,
    *,
    limits: FileLimits = DEFAULT_LIMITS,
    error: type[ModeltrailError] = UsageError,
) -> str:
    """The UTF-8 text of `path`, refusing anything but a regular file within the size cap."""
    path = os.fspath(path)
    max_bytes = limits.max_bytes
    try:
        opened = open_regular(path)
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} file {path}: {exc.strerror}") from None
    if opened is None:
        raise FileLimitError(f"{what} file {path} is not a regular file (a pipe, device or folder)")
    fd = opened
    try:
        info = os.fstat(fd)
        if info.st_size > max_bytes:
            raise FileLimitError(
                f"{what} file {path} is {info.st_size} bytes, over the limit of {max_bytes}",
                hint=_hint(limits, "MODELTRAIL_PARAMS_MAX_BYTES"),
            )
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {what} file {path}: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > max_bytes:  # grew while we read it
        raise FileLimitError(f"{what} file {path} is over the limit of {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} file {path} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})"
        ) from None


def load_mapping_file(
    path: str | os.PathLike[str],
    what: str,
    *,
    limits: FileLimits = DEFAULT_LIMITS,
    error: type[ModeltrailError] = UsageError,
) -> dict[str, Any]:
    """A YAML or JSON file holding a mapping (params.yaml, metrics.json, …): a regular file
    within the limits, no key twice. `.json` files are JSON, anything else YAML."""
    text = read_regular_file(path, what, limits=limits, error=error)
    where = f"{what} file {os.fspath(path)}"
    if Path(path).suffix.lower() == ".json":
        data = load_json(text, where, limits=limits, error=error)
    else:
        data = load_yaml(text, where, limits=limits, error=error)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise error(f"{where} must hold a mapping of names to values")
    return dict(data)


def load_json(
    text: str | bytes,
    what: str,
    *,
    limits: FileLimits = DEFAULT_LIMITS,
    error: type[ModeltrailError] = UsageError,
) -> Any:
    count = [0]
    max_keys = limits.max_keys

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"the key {key!r} appears twice in one object")
            out[key] = value
        count[0] += len(out)
        if count[0] > max_keys:
            raise _TooMany()
        return out

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise _too_deep(what, limits) from None
    except _TooMany:
        raise FileLimitError(
            f"{what} has more than {max_keys} keys",
            hint=_hint(limits, "MODELTRAIL_PARAMS_MAX_KEYS"),
        ) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise error(f"{what} is not valid JSON: {exc}") from None
    if _depth(value, limits.max_depth) > limits.max_depth:
        raise _too_deep(what, limits)
    return value


def load_yaml(
    text: str,
    what: str,
    *,
    limits: FileLimits = DEFAULT_LIMITS,
    error: type[ModeltrailError] = UsageError,
) -> Any:
    import yaml

    try:  # libyaml composes several times faster; dvc.lock files of big pipelines are long
        from yaml import CSafeLoader as Loader
    except ImportError:  # pragma: no cover - depends on how PyYAML was built
        from yaml import SafeLoader as Loader  # type: ignore[assignment]

    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {_first_line(exc)}") from None
    except RecursionError:
        raise _too_deep(what, limits) from None
    if node is None:
        return None
    try:
        size, _height = _expanded_size(node, {}, set(), 0, what, limits, error)
    except RecursionError:
        raise _too_deep(what, limits) from None
    if size > limits.max_keys:
        raise FileLimitError(
            f"{what} expands to {size} values (anchors and aliases included), over the limit "
            f"of {limits.max_keys}",
            hint=_hint(limits, "MODELTRAIL_PARAMS_MAX_KEYS"),
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {_first_line(exc)}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a 5000-digit int, a 13th month
        raise error(f"{what} holds a value that cannot be read: {exc}") from None
    finally:
        loader.dispose()


class _TooMany(Exception):
    pass


def _hint(limits: FileLimits, setting: str) -> str | None:
    return f"raise {setting} if it is meant to be that large" if limits.settings else None


def _too_deep(what: str, limits: FileLimits) -> FileLimitError:
    return FileLimitError(f"{what} is nested too deeply (more than {limits.max_depth} levels)")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _depth(value: Any, limit: int) -> int:
    """How deep `value` nests, counted without recursion and only up to `limit` + 1."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limit:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _expanded_size(
    node: Any,
    seen_nodes: dict[int, tuple[int, int]],
    active: set[int],
    level: int,
    what: str,
    limits: FileLimits,
    error: type[ModeltrailError],
) -> tuple[int, int]:
    """(values, height) of `node` once every alias is expanded, memoised per node so that
    counting costs the composed graph, not its expansion; refused as soon as it is too big
    or, at the `level` it is used, too deep (an alias of a deep node used deep down counts)."""
    import yaml

    key = id(node)
    if key in seen_nodes:
        size, height = seen_nodes[key]
    elif key in active:
        raise error(f"{what} refers to itself (a recursive YAML alias)")
    elif not isinstance(node, yaml.CollectionNode):
        size, height = 1, 0
    elif level + 1 > limits.max_depth:
        raise _too_deep(what, limits)
    else:
        active.add(key)
        children: list[Any] = []
        if isinstance(node, yaml.MappingNode):
            names: set[str] = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in names:
                        raise error(f"{what}: the key {k.value!r} appears twice in one mapping")
                    names.add(k.value)
                children += (k, v)
        else:
            children = list(node.value)
        size, height = 1, 1
        for child in children:
            child_size, child_height = _expanded_size(
                child, seen_nodes, active, level + 1, what, limits, error
            )
            size += child_size
            height = max(height, child_height + 1)
            if size > limits.max_keys:  # stop counting: the answer is "too many" already
                raise FileLimitError(
                    f"{what} expands to more than {limits.max_keys} values (anchors and "
                    "aliases included)",
                    hint=_hint(limits, "MODELTRAIL_PARAMS_MAX_KEYS"),
                )
        active.discard(key)
        seen_nodes[key] = (size, height)
    if level + height > limits.max_depth:
        raise _too_deep(what, limits)
    return size, height
