"""A DVC project's recipe (`dvc.lock`, `dvc.yaml`, `params.yaml`) as a version's pieces.

`modeltrail register --dvc` and `track(..., dvc=True)` read the project around the working
directory (the nearest directory up with `dvc.lock`) without DVC installed:

- data: every path a stage depends on, and every output another stage consumes, becomes a
  data snapshot named by its path (hashed when present, else DVC's md5 alone); source files
  (`.py`, `.sh`, …) are code, which git records, and are left out;
- artifacts: outputs no stage consumes (the model), except metrics and plots files;
- params: `params.yaml` whole, then the values `dvc.lock` recorded for each stage (other
  params files' keys prefixed with the file's name: `config.yaml` → `config.lr`);
- metrics: the metrics files `dvc.yaml` declares (JSON or YAML; nested keys dotted; a list
  of numbers is a history).

`plan_dvc` decides from parsed values (pure); `read_dvc_project` reads the files.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.capture.dvc import DvcEntry, DvcLock, DvcYaml, parse_dvc_lock, parse_dvc_yaml
from modeltrail.core.errors import CaptureError

CODE_SUFFIXES = frozenset(
    {".py", ".ipynb", ".r", ".sh", ".bash", ".sql", ".scala", ".java", ".jl", ".js", ".ts"}
)


@dataclass(frozen=True)
class DvcPlan:
    data: tuple[str, ...]  # paths relative to the project root
    artifacts: tuple[DvcEntry, ...]
    param_files: tuple[str, ...]  # params files named in the lock, params.yaml first
    locked_params: Mapping[str, Any] = field(default_factory=dict)  # flattened, prefixed
    metric_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class DvcRecipe:
    root: str
    data: tuple[str, ...]
    artifacts: tuple[DvcEntry, ...]
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]  # name -> number or list of numbers


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/"))


def _prefix(file: str) -> str:
    return "" if _norm(file) == "params.yaml" else posixpath.splitext(posixpath.basename(file))[0]


def plan_dvc(lock: DvcLock, declared: DvcYaml | None = None) -> DvcPlan:
    """What each dvc.lock entry becomes (see the module doc)."""
    metric_like = set()
    if declared is not None:
        metric_like = {_norm(p) for p in declared.metric_files}
    consumed = {_norm(e.path) for s in lock.stages for e in s.deps}
    produced = {_norm(e.path): e for s in lock.stages for e in s.outs}
    data: dict[str, None] = {}
    for stage in lock.stages:
        for entry in stage.deps:
            path = _norm(entry.path)
            if posixpath.splitext(path)[1].lower() not in CODE_SUFFIXES:
                data[path] = None
    artifacts: list[DvcEntry] = []
    for path, entry in produced.items():
        if path in consumed:
            data.setdefault(path, None)
        elif path not in metric_like and "plots" not in path.split("/"):
            artifacts.append(entry)
    files: dict[str, None] = {}
    locked: dict[str, Any] = {}
    for stage in lock.stages:
        for file, values in stage.params.items():
            files[_norm(file)] = None
            prefix = _prefix(file)
            for key, value in values.items():
                locked[f"{prefix}.{key}" if prefix else str(key)] = value
    ordered = sorted(files, key=lambda f: (f != "params.yaml", f))
    return DvcPlan(
        data=tuple(data),
        artifacts=tuple(artifacts),
        param_files=tuple(ordered),
        locked_params=locked,
        metric_files=tuple(sorted(metric_like)),
    )


def find_project_root(start: str) -> str | None:
    current = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(current, "dvc.lock")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def read_dvc_project(start: str) -> DvcRecipe:
    """The recipe of the DVC project at or above `start`; CaptureError without a dvc.lock."""
    root = find_project_root(start)
    if root is None:
        raise CaptureError(
            f"no dvc.lock in {os.path.abspath(start)} or above",
            hint="run `dvc repro` (or `dvc commit`) first, or leave out --dvc",
        )
    lock = parse_dvc_lock(_read(os.path.join(root, "dvc.lock")), source="dvc.lock")
    declared = None
    if os.path.isfile(os.path.join(root, "dvc.yaml")):
        declared = parse_dvc_yaml(_read(os.path.join(root, "dvc.yaml")), source="dvc.yaml")
    plan = plan_dvc(lock, declared)
    params: dict[str, Any] = {}
    files = plan.param_files
    if "params.yaml" not in files and os.path.isfile(os.path.join(root, "params.yaml")):
        files = ("params.yaml", *files)
    for file in files:
        path = os.path.join(root, file)
        if os.path.isfile(path):
            prefix = _prefix(file)
            loaded = _load_mapping(path, file)
            params.update({prefix: loaded} if prefix else loaded)
    params = _flatten(params)
    params.update(plan.locked_params)  # what the last run actually used
    metrics: dict[str, Any] = {}
    for file in plan.metric_files:
        path = os.path.join(root, file)
        if os.path.isfile(path):
            metrics.update(_flatten(_load_mapping(path, file)))
    return DvcRecipe(root, plan.data, plan.artifacts, params, metrics)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureError(f"cannot read {path}: {exc}") from None


def _load_mapping(path: str, name: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(_read(path))  # JSON is YAML
    except yaml.YAMLError:
        raise CaptureError(f"{name} is not valid YAML or JSON", hint=f"fix {name}") from None
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise CaptureError(f"{name} must hold a mapping of names to values")
    return dict(doc)


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
