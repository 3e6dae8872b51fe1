"""A DVC project's recipe (`dvc.lock`, `dvc.yaml`, `.dvc` files, params) as a version's pieces.

`modeltrail register --dvc` and `track(..., dvc=True)` read the project around the working
directory (the nearest directory up with `dvc.lock`, else with `.dvc/`) without DVC
installed. The rules (README, "DVC projects"):

- stages: those `dvc.lock` holds *and* `dvc.yaml` declares (`foreach`/`matrix` stages by their
  generated names, `train@rf-4`); a stage left in the lock after it was deleted from
  dvc.yaml is stale and ignored, as DVC ignores it. Lock paths of a `wdir:` stage are
  relative to that directory and are resolved against it.
- data: every path a stage depends on, and every output another stage consumes, as a data
  snapshot named by its path (DVC's md5, and our sha256 when the data is present). Source
  files (`.py`, `.sh`, …) are code, which git records. Without `dvc.lock` (a project that only
  uses `dvc add`) the data is every path a `.dvc` file tracks.
- artifacts: outputs no stage consumes, and outputs that are models although a later stage
  consumes them (a model suffix, `.pkl` `.joblib` `.pt` `.onnx` …, or a path also given as an
  artifact); never a metrics or plots file.
- params: the root `params.yaml` whole; for every other params file only the keys `dvc.lock`
  recorded, as `<file>:<key>` (`configs/train.yaml:lr`), so files never overwrite each other;
  whole sections (`params: [train]`) are recorded key by key (`train.lr`). Locked values win
  over the file: they are what the last run used.
- metrics: the metrics files of those stages and the top-level ones (JSON or YAML; nested keys
  dotted; a list of numbers is a history); a name found in more than one file is recorded
  once per file as `<file without suffix>.<name>` (`metrics/rf-4.auc`).

`plan_dvc` decides from parsed values (pure); `read_dvc_project` reads the files.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from modeltrail.core.capture.dvc import (
    DvcEntry,
    DvcLock,
    DvcRecord,
    DvcYaml,
    DvcYamlStage,
    parse_dvc_file,
    parse_dvc_lock,
    parse_dvc_yaml,
)
from modeltrail.core.capture.dvc_templates import declared_stages
from modeltrail.core.errors import CaptureError
from modeltrail.core.records import CODE_SUFFIXES
from modeltrail.core.safe_files import DEFAULT_LIMITS, FileLimits, load_yaml, read_regular_file

# Outputs with these suffixes are models: artifacts even when a later stage consumes them.
MODEL_SUFFIXES = frozenset(
    {
        ".pkl",
        ".pickle",
        ".joblib",
        ".pt",
        ".pth",
        ".ckpt",
        ".onnx",
        ".h5",
        ".keras",
        ".pb",
        ".tflite",
        ".safetensors",
        ".mlmodel",
        ".cbm",
        ".xgb",
        ".ubj",
        ".lgb",
        ".model",
    }
)
ROOT_PARAMS = "params.yaml"
_SKIP_WALK = frozenset({".git", ".dvc", "node_modules", "__pycache__", ".venv", "venv"})


@dataclass(frozen=True)
class DvcPlan:
    data: tuple[DvcRecord, ...]  # entry paths relative to the project root
    artifacts: tuple[DvcEntry, ...]  # paths relative to the project root
    locked_params: Mapping[str, Any] = field(default_factory=dict)  # flattened, prefixed
    metric_files: tuple[str, ...] = ()  # relative to the project root
    stale_stages: tuple[str, ...] = ()  # in dvc.lock, no longer in dvc.yaml: ignored


@dataclass(frozen=True)
class DvcRecipe:
    root: str
    data: tuple[DvcRecord, ...]
    artifacts: tuple[DvcEntry, ...]
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]  # name -> number or list of numbers
    stale_stages: tuple[str, ...] = ()


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/"))


def _join(wdir: str, path: str) -> str:
    return _norm(posixpath.join(wdir, path)) if wdir not in ("", ".") else _norm(path)


def param_key(file: str, key: str) -> str:
    """How a param of `file` (relative to the project root) is named in the version."""
    return key if file == ROOT_PARAMS else f"{file}:{key}"


def _suffix(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def plan_dvc(
    lock: DvcLock,
    declared: DvcYaml | None = None,
    *,
    context: Mapping[str, Any] | None = None,
    artifact_paths: frozenset[str] = frozenset(),
) -> DvcPlan:
    """What each dvc.lock entry becomes (see the module doc). `artifact_paths` are paths
    (relative to the project root) the caller records as artifacts; `context` the vars
    templates are filled from (params.yaml and dvc.yaml's `vars:`)."""
    stages = {s.name: s for s in lock.stages}
    decls: dict[str, DvcYamlStage | None]
    if declared is not None:
        decls = dict(declared_stages(lock, declared, context or {}))
    else:
        decls = dict.fromkeys(stages)
    stale = tuple(name for name in stages if name not in decls)
    wdirs = {name: (d.wdir if d is not None else ".") for name, d in decls.items()}

    metric_like: dict[str, None] = {}
    plot_like: set[str] = set()
    if declared is not None:
        metric_like.update(dict.fromkeys(_norm(p) for p in declared.metrics))
        plot_like.update(_norm(p) for p in declared.plots)
    for decl in decls.values():
        if decl is not None:
            metric_like.update(dict.fromkeys(_join(decl.wdir, p) for p in decl.metrics))
            plot_like.update(_join(decl.wdir, p) for p in decl.plots)

    deps: dict[str, DvcEntry] = {}
    outs: dict[str, DvcEntry] = {}
    for name in decls:
        wdir = wdirs[name]
        for e in stages[name].deps:
            deps.setdefault(_join(wdir, e.path), replace(e, path=_join(wdir, e.path)))
        for e in stages[name].outs:
            outs.setdefault(_join(wdir, e.path), replace(e, path=_join(wdir, e.path)))

    def is_plot(path: str) -> bool:
        return path in plot_like or "plots" in path.split("/")

    def is_model(path: str) -> bool:
        return path in artifact_paths or _suffix(path) in MODEL_SUFFIXES

    artifacts = [
        e
        for path, e in outs.items()
        if path not in metric_like and not is_plot(path) and (path not in deps or is_model(path))
    ]
    artifact_set = {e.path for e in artifacts} | set(artifact_paths)
    data: dict[str, DvcRecord] = {}
    for path, e in deps.items():
        if _suffix(path) in CODE_SUFFIXES or path in artifact_set or is_plot(path):
            continue
        if path in metric_like:
            continue
        data[path] = DvcRecord(outs.get(path, e), "dvc.lock")

    locked: dict[str, Any] = {}
    for name in decls:
        for file, values in stages[name].params.items():
            rel = _join(wdirs[name], file)
            for key, value in _flatten(values).items():
                locked[param_key(rel, key)] = value
    return DvcPlan(
        data=tuple(data.values()),
        artifacts=tuple(artifacts),
        locked_params=locked,
        metric_files=tuple(metric_like),
        stale_stages=stale,
    )


def plan_dvc_files(files: Mapping[str, str], *, limits: FileLimits = DEFAULT_LIMITS) -> DvcPlan:
    """A project that only uses `dvc add`: each `.dvc` file's outs (`files` maps each file's
    path relative to the project root to its text) is data."""
    data: dict[str, DvcRecord] = {}
    for source in sorted(files):
        parsed = parse_dvc_file(files[source], source=source, limits=limits)
        folder = posixpath.dirname(source)
        for out in parsed.outs:
            path = _join(folder, out.path)
            data.setdefault(path, DvcRecord(replace(out, path=path), source))
    return DvcPlan(data=tuple(data.values()), artifacts=())


def find_project_root(start: str) -> str | None:
    """The nearest directory at or above `start` with a dvc.lock, else with a `.dvc/`."""
    current = os.path.abspath(start)
    repo_root = None
    while True:
        if _present(os.path.join(current, "dvc.lock")):
            return current
        if repo_root is None and os.path.isdir(os.path.join(current, ".dvc")):
            repo_root = current
        parent = os.path.dirname(current)
        if parent == current:
            return repo_root
        current = parent


def read_dvc_project(
    start: str, *, artifact_paths: Sequence[str] = (), limits: FileLimits = DEFAULT_LIMITS
) -> DvcRecipe:
    """The recipe of the DVC project at or above `start`. `artifact_paths` (absolute, or
    relative to `start`) are recorded as artifacts by the caller and are never data.
    CaptureError when there is no project, or neither a dvc.lock nor a `.dvc` file;
    FileLimitError when one of its files is a pipe or device, too big or a YAML bomb."""
    root = find_project_root(start)
    if root is None:
        raise CaptureError(
            f"no DVC project (dvc.lock or .dvc/) in {os.path.abspath(start)} or above",
            hint="run `dvc repro` or `dvc add` first, or leave out --dvc",
        )
    lock_path = os.path.join(root, "dvc.lock")
    root_params = _root_params(root, limits)
    if not _present(lock_path):
        files = _dvc_files(root, limits)
        if not files:
            raise CaptureError(
                f"no dvc.lock and no .dvc files in {root}",
                hint="run `dvc repro` (pipelines) or `dvc add` (data) first, or leave out --dvc",
            )
        plan = plan_dvc_files(files, limits=limits)
        return DvcRecipe(root, plan.data, (), _flatten(root_params), {})
    lock = parse_dvc_lock(_read(lock_path, limits), source="dvc.lock", limits=limits)
    declared = None
    if _present(os.path.join(root, "dvc.yaml")):
        text = _read(os.path.join(root, "dvc.yaml"), limits)
        declared = parse_dvc_yaml(text, source="dvc.yaml", limits=limits)
    wanted = frozenset(
        _norm(os.path.relpath(os.path.join(os.path.abspath(start), p), root))
        for p in artifact_paths
    )
    context = _template_context(root, root_params, declared, limits)
    plan = plan_dvc(lock, declared, context=context, artifact_paths=wanted)
    params = _flatten(root_params)
    params.update(plan.locked_params)  # what the last run actually used
    return DvcRecipe(
        root,
        tuple(_prefer_dvc_file(root, record, limits) for record in plan.data),
        plan.artifacts,
        params,
        _read_metrics(root, plan.metric_files, limits),
        plan.stale_stages,
    )


def _prefer_dvc_file(root: str, record: DvcRecord, limits: FileLimits) -> DvcRecord:
    """Data added with `dvc add` is recorded in its `.dvc` file first (where `dvc add` writes
    a change); dvc.lock only copies that md5 when a stage next runs."""
    source = f"{record.entry.path}.dvc"
    path = os.path.join(root, source)
    if not _present(path):
        return record
    parsed = parse_dvc_file(_read(path, limits), source=source, limits=limits)
    name = posixpath.basename(record.entry.path)
    out = next((o for o in parsed.outs if _norm(o.path) == name), parsed.outs[0])
    return DvcRecord(replace(out, path=record.entry.path), source)


def _root_params(root: str, limits: FileLimits) -> dict[str, Any]:
    path = os.path.join(root, ROOT_PARAMS)
    return _load_mapping(path, limits) if _present(path) else {}


def _template_context(
    root: str, root_params: Mapping[str, Any], declared: DvcYaml | None, limits: FileLimits
) -> dict[str, Any]:
    """The values `${...}` may name: params.yaml, then dvc.yaml's `vars:` in order."""
    context = dict(root_params)
    for item in declared.vars if declared is not None else ():
        if isinstance(item, Mapping):
            context.update(item)
        elif isinstance(item, str):
            file, _, keys = item.partition(":")
            path = os.path.join(root, file)
            if _present(path):
                loaded = _load_mapping(path, limits)
                wanted = [k.strip() for k in keys.split(",") if k.strip()]
                context.update({k: loaded[k] for k in wanted if k in loaded} if wanted else loaded)
    return context


def _read_metrics(root: str, files: Sequence[str], limits: FileLimits) -> dict[str, Any]:
    per_file: dict[str, dict[str, Any]] = {}
    for file in files:
        path = os.path.join(root, file)
        if _present(path):
            per_file[file] = _flatten(_load_mapping(path, limits))
    seen: dict[str, int] = {}
    for values in per_file.values():
        for name in values:
            seen[name] = seen.get(name, 0) + 1
    metrics: dict[str, Any] = {}
    for file, values in per_file.items():
        stem = posixpath.splitext(file)[0]
        for name, value in values.items():
            metrics[f"{stem}.{name}" if seen[name] > 1 else name] = value
    return metrics


def _dvc_files(root: str, limits: FileLimits) -> dict[str, str]:
    """`.dvc` files under `root` (relative path → text), not descending into what they track."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        tracked = {f[: -len(".dvc")] for f in files if f.endswith(".dvc")}
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_WALK and d not in tracked)
        for name in sorted(files):
            if name.endswith(".dvc") and _present(os.path.join(folder, name)):
                rel = _norm(os.path.relpath(os.path.join(folder, name), root))
                found[rel] = _read(os.path.join(folder, name), limits)
    return found


def _present(path: str) -> bool:
    """There is something at `path` to read (a pipe or a device too: reading it is then
    refused in one line, where skipping it would record a recipe without it)."""
    return os.path.exists(path) and not os.path.isdir(path)


def _read(path: str, limits: FileLimits) -> str:
    return read_regular_file(path, "DVC", limits=limits, error=CaptureError)


def _load_mapping(path: str, limits: FileLimits) -> dict[str, Any]:
    where = f"DVC file {path}"
    doc = load_yaml(_read(path, limits), where, limits=limits, error=CaptureError)  # JSON is YAML
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise CaptureError(f"{where} must hold a mapping of names to values")
    return dict(doc)


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
