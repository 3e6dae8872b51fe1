"""Which dvc.yaml declaration each `dvc.lock` stage came from, with `${...}` filled in. Pure.

DVC writes a `foreach`/`matrix` stage to dvc.lock once per generated stage, named
`<stage>@<key>` (`train@rf-4`, `sweep@lr-1`). Its declared paths (`metrics/${key}.json`)
are templates; to know which lock outputs are metrics or plots we fill them in the way DVC
names and fills them (dvc/parsing: a mapping's keys; a list of scalars' values, of
composites their indexes; a matrix's values, or `<name><index>` for composite ones, joined by
`-`), from the generated stage's `key`/`item` and the project's vars (`params.yaml` and
`vars:`). A path that cannot be filled in (a var we cannot see) is matched against the lock
stage's own paths instead, `${...}` standing for any text.

A lock stage whose name matches no declaration is stale (DVC ignores it too) and is left out.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from modeltrail.core.capture.dvc import DvcLock, DvcStage, DvcYaml, DvcYamlStage

_TEMPLATE = re.compile(r"\$\{\s*([^}]*?)\s*\}")


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _composite(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _lookup(name: str, context: Mapping[str, Any]) -> Any:
    current: Any = context
    for part in name.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list | tuple) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(name)
    return current


def fill(template: str, context: Mapping[str, Any]) -> str | None:
    """`template` with each `${name}` replaced, or None when a name is not in `context`."""
    try:
        return _TEMPLATE.sub(lambda m: _to_str(_lookup(m.group(1), context)), template)
    except KeyError:
        return None


def _resolved_iterable(raw: Any, context: Mapping[str, Any]) -> Any:
    """`foreach: ${models}` names its iterable by a var."""
    if isinstance(raw, str):
        match = _TEMPLATE.fullmatch(raw.strip())
        if match is None:
            return None
        try:
            return _lookup(match.group(1), context)
        except KeyError:
            return None
    return raw


def generated(stage: DvcYamlStage, context: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The generated stages' keys → their template context additions (`key`, `item`)."""
    if stage.foreach is not None:
        iterable = _resolved_iterable(stage.foreach, context)
        if isinstance(iterable, Mapping):
            items = {_to_str(k): v for k, v in iterable.items()}
        elif isinstance(iterable, list | tuple):
            if any(_composite(v) for v in iterable):
                items = {str(i): v for i, v in enumerate(iterable)}
            else:
                items = {_to_str(v): v for v in iterable}
        else:
            return {}
        return {key: {"key": key, "item": item} for key, item in items.items()}
    matrix = stage.matrix
    if not isinstance(matrix, Mapping):
        return {}
    axes: dict[str, list[Any]] = {}
    for name, values in matrix.items():
        resolved = _resolved_iterable(values, context)
        if not isinstance(resolved, list | tuple):
            return {}
        axes[str(name)] = list(resolved)
    out: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*(list(enumerate(v)) for v in axes.values())):
        item = {name: value for name, (_, value) in zip(axes, combo, strict=True)}
        key = "-".join(
            f"{name}{i}" if _composite(value) else _to_str(value)
            for name, (i, value) in zip(axes, combo, strict=True)
        )
        out[key] = {"key": key, "item": item}
    return out


def _pattern(template: str) -> re.Pattern[str]:
    parts = _TEMPLATE.split(template)
    # split() alternates literal text and var names; vars become "any text"
    return re.compile("".join(re.escape(p) if i % 2 == 0 else ".+?" for i, p in enumerate(parts)))


def _fill_paths(
    paths: Sequence[str], context: Mapping[str, Any], candidates: Sequence[str]
) -> tuple[str, ...]:
    out = []
    for path in paths:
        if "${" not in path:
            out.append(path)
            continue
        filled = fill(path, context)
        if filled is not None:
            out.append(filled)
            continue
        pattern = _pattern(path)
        matches = [c for c in candidates if pattern.fullmatch(c)]
        if len(matches) == 1:
            out.append(matches[0])
    return tuple(out)


def _instantiate(
    stage: DvcYamlStage, name: str, lock_stage: DvcStage, context: Mapping[str, Any]
) -> DvcYamlStage:
    candidates = [e.path for e in (*lock_stage.outs, *lock_stage.deps)]
    wdir = fill(stage.wdir, context) or stage.wdir
    return replace(
        stage,
        name=name,
        deps=_fill_paths(stage.deps, context, candidates),
        outs=_fill_paths(stage.outs, context, candidates),
        metrics=_fill_paths(stage.metrics, context, candidates),
        plots=_fill_paths(stage.plots, context, candidates),
        wdir=wdir,
        foreach=None,
        matrix=None,
    )


def declared_stages(
    lock: DvcLock, declared: DvcYaml, context: Mapping[str, Any]
) -> dict[str, DvcYamlStage]:
    """Each lock stage name → its declaration, templates filled in; stale stages left out."""
    found: dict[str, DvcYamlStage] = {}
    cache: dict[str, dict[str, dict[str, Any]]] = {}
    for lock_stage in lock.stages:
        name = lock_stage.name
        direct = declared.stage(name)
        if direct is not None and not direct.templated:
            found[name] = _instantiate(direct, name, lock_stage, context)
            continue
        base, at, key = name.partition("@")
        stage = declared.stage(base) if at else None
        if stage is None or not stage.templated:
            continue  # stale: dvc.yaml no longer declares it
        if base not in cache:
            cache[base] = generated(stage, context)
        extra = cache[base].get(key)
        if extra is None:
            continue  # the iterable no longer has this key: stale as well
        found[name] = _instantiate(stage, name, lock_stage, {**context, **extra})
    return found
