"""Read what DVC recorded (`dvc.lock`, `dvc.yaml`, `.dvc` files) without DVC installed.

Pure parsing: text in, frozen values out. Callers read the files (core/safe_files.py:
regular files within the size limit) and pass the text plus the file's name, which error
messages quote; parsing refuses anchor bombs and deep nesting the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.errors import CaptureError
from modeltrail.core.safe_files import DEFAULT_LIMITS, FileLimits, load_yaml

DIR_SUFFIX = ".dir"


@dataclass(frozen=True)
class DvcEntry:
    """One `deps` or `outs` item. `md5` is kept exactly as recorded (`<hex>.dir` for dirs)."""

    path: str
    md5: str | None = None
    size: int | None = None
    nfiles: int | None = None
    is_dir: bool = False


@dataclass(frozen=True)
class DvcRecord:
    """What DVC recorded for a path and where (`source` relative to the project root)."""

    entry: DvcEntry
    source: str


@dataclass(frozen=True)
class DvcStage:
    name: str
    cmd: tuple[str, ...] = ()
    deps: tuple[DvcEntry, ...] = ()
    outs: tuple[DvcEntry, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # file -> key -> value


@dataclass(frozen=True)
class DvcLock:
    schema: str | None
    stages: tuple[DvcStage, ...]

    def entries(self) -> tuple[tuple[DvcStage, str, DvcEntry], ...]:
        """Every entry as (stage, "outs" | "deps", entry), outs first: an out is where a path
        was produced, so it is the better answer when a path is both."""
        outs = [(s, "outs", e) for s in self.stages for e in s.outs]
        deps = [(s, "deps", e) for s in self.stages for e in s.deps]
        return tuple(outs + deps)


@dataclass(frozen=True)
class DvcFile:
    """A `<name>.dvc` file; paths in `outs` are relative to the file's directory."""

    outs: tuple[DvcEntry, ...]
    deps: tuple[DvcEntry, ...] = ()


@dataclass(frozen=True)
class DvcYamlStage:
    """A stage as dvc.yaml declares it. Paths are relative to `wdir` (itself relative to the
    dvc.yaml's directory) and may hold `${...}` templates; a `foreach` stage's body is its
    `do:` (`foreach` keeps the raw iterable), a `matrix` stage keeps its raw `matrix`."""

    name: str
    cmd: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # file -> keys
    wdir: str = "."
    foreach: Any = None
    matrix: Any = None

    @property
    def templated(self) -> bool:
        return self.foreach is not None or self.matrix is not None


@dataclass(frozen=True)
class DvcYaml:
    stages: tuple[DvcYamlStage, ...]
    metrics: tuple[str, ...] = ()  # top-level `metrics:` (DVC 3)
    params: tuple[str, ...] = ()  # top-level `params:` files (DVC 3)
    plots: tuple[str, ...] = ()  # top-level `plots:` ids and the files their x/y name
    vars: tuple[Any, ...] = ()  # top-level `vars:`: mappings, or files to read values from

    @property
    def metric_files(self) -> tuple[str, ...]:
        """Top-level and per-stage metrics files, each once, in declaration order (paths as
        declared: a stage's are relative to its wdir and may be templates)."""
        seen = dict.fromkeys(self.metrics)
        for stage in self.stages:
            seen.update(dict.fromkeys(stage.metrics))
        return tuple(seen)

    def stage(self, name: str) -> DvcYamlStage | None:
        return next((s for s in self.stages if s.name == name), None)


def _load(text: str, source: str, limits: FileLimits) -> Any:
    try:
        return load_yaml(text, source, limits=limits, error=CaptureError)
    except CaptureError as exc:  # FileLimitError (too big, too deep) goes through as it is
        raise CaptureError(
            f"cannot parse {exc.message}", hint=f"fix or regenerate {source} (e.g. `dvc commit`)"
        ) from None


def _bad(source: str, what: str) -> CaptureError:
    return CaptureError(
        f"cannot read {source}: {what}", hint=f"fix or regenerate {source} (e.g. `dvc commit`)"
    )


def _optional_int(value: Any, source: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(source, f"{key} {value!r} is not a whole number")
    return value


def _entry(raw: Any, source: str) -> DvcEntry:
    if isinstance(raw, str):  # dvc.yaml style: just a path
        return DvcEntry(path=raw)
    if not isinstance(raw, Mapping) or "path" not in raw:
        raise _bad(source, f"entry {raw!r} has no path")
    md5 = raw.get("md5")
    # A hex digest made only of digits loads as an int; it is still the digest text.
    md5_text = None if md5 is None else str(md5)
    nfiles = _optional_int(raw.get("nfiles"), source, "nfiles")
    return DvcEntry(
        path=str(raw["path"]),
        md5=md5_text,
        size=_optional_int(raw.get("size"), source, "size"),
        nfiles=nfiles,
        is_dir=md5_text.endswith(DIR_SUFFIX) if md5_text else nfiles is not None,
    )


def _entries(raw: Any, source: str, key: str) -> tuple[DvcEntry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad(source, f"{key} must be a list")
    return tuple(_entry(item, source) for item in raw)


def _cmd(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        return tuple(str(c) for c in raw)
    return (str(raw),)


def _mapping(raw: Any, source: str, what: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _bad(source, f"{what} must be a mapping")
    return raw


def parse_dvc_lock(
    text: str, *, source: str = "dvc.lock", limits: FileLimits = DEFAULT_LIMITS
) -> DvcLock:
    """Parse a dvc.lock: schema 2.0 (`stages:` with `hash: md5` entries) or the 1.x layout
    whose top level is the stages themselves."""
    doc = _load(text, source, limits)
    if doc is None:
        return DvcLock(schema=None, stages=())
    doc = _mapping(doc, source, "the top level")
    if "stages" in doc or "schema" in doc:
        schema = None if doc.get("schema") is None else str(doc["schema"])
        raw_stages = _mapping(doc.get("stages"), source, "stages")
    else:
        schema, raw_stages = None, doc
    stages = []
    for name, raw in raw_stages.items():
        body = _mapping(raw, source, f"stage {name!r}")
        params = {
            str(file): dict(_mapping(values, source, f"params of stage {name!r}"))
            for file, values in _mapping(body.get("params"), source, "params").items()
        }
        stages.append(
            DvcStage(
                name=str(name),
                cmd=_cmd(body.get("cmd")),
                deps=_entries(body.get("deps"), source, f"deps of stage {name!r}"),
                outs=_entries(body.get("outs"), source, f"outs of stage {name!r}"),
                params=params,
            )
        )
    return DvcLock(schema=schema, stages=tuple(stages))


def parse_dvc_file(
    text: str, *, source: str = ".dvc file", limits: FileLimits = DEFAULT_LIMITS
) -> DvcFile:
    """Parse a `<name>.dvc` file (`outs:` with md5/size/nfiles/path; `deps:` for imports)."""
    doc = _mapping(_load(text, source, limits), source, "the top level")
    outs = _entries(doc.get("outs"), source, "outs")
    if not outs:
        raise _bad(source, "no outs")
    return DvcFile(outs=outs, deps=_entries(doc.get("deps"), source, "deps"))


def _declared_paths(raw: Any, source: str, key: str) -> tuple[str, ...]:
    """`outs:`/`metrics:` in dvc.yaml: each item a path or `{path: {options}}`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad(source, f"{key} must be a list")
    paths: list[str] = []
    for item in raw:
        if isinstance(item, Mapping):
            paths.extend(str(k) for k in item)
        else:
            paths.append(str(item))
    return tuple(paths)


def _declared_params(raw: Any, source: str, key: str) -> dict[str, tuple[str, ...]]:
    """`params:` in a dvc.yaml stage: bare keys live in params.yaml; `{file: [keys]}` elsewhere
    (an empty list or null means the whole file)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise _bad(source, f"{key} must be a list")
    by_file: dict[str, list[str]] = {}
    for item in raw:
        if isinstance(item, Mapping):
            for file, keys in item.items():
                wanted = by_file.setdefault(str(file), [])
                if isinstance(keys, list):
                    wanted.extend(str(k) for k in keys)
        else:
            by_file.setdefault("params.yaml", []).append(str(item))
    return {file: tuple(keys) for file, keys in by_file.items()}


def _top_plots(raw: Any, source: str) -> tuple[str, ...]:
    """Top-level `plots:`: each item a path, or `{id: {x:, y:}}` whose id may be a path and
    whose `x`/`y` may map files to fields."""
    paths: dict[str, None] = {}
    for item in _declared_paths(raw, source, "plots"):
        paths[item] = None
    for item in raw or ():
        if not isinstance(item, Mapping):
            continue
        for definition in item.values():
            if not isinstance(definition, Mapping):
                continue
            for axis in ("x", "y"):
                files = definition.get(axis)
                if isinstance(files, Mapping):
                    paths.update(dict.fromkeys(str(f) for f in files))
    return tuple(paths)


def parse_dvc_yaml(
    text: str, *, source: str = "dvc.yaml", limits: FileLimits = DEFAULT_LIMITS
) -> DvcYaml:
    """Parse the declarations of a dvc.yaml: per stage its deps, outs, metrics, plots, params,
    wdir and, for `foreach`/`matrix` stages, the raw iterable."""
    doc = _load(text, source, limits)
    if doc is None:
        return DvcYaml(stages=())
    doc = _mapping(doc, source, "the top level")
    stages = []
    for name, raw in _mapping(doc.get("stages"), source, "stages").items():
        outer = _mapping(raw, source, f"stage {name!r}")
        foreach = outer.get("foreach")
        body = _mapping(outer.get("do"), source, f"do of {name!r}") if foreach else outer
        wdir = body.get("wdir", outer.get("wdir", "."))
        stages.append(
            DvcYamlStage(
                name=str(name),
                cmd=_cmd(body.get("cmd")),
                deps=_declared_paths(body.get("deps"), source, f"deps of stage {name!r}"),
                outs=_declared_paths(body.get("outs"), source, f"outs of stage {name!r}"),
                metrics=_declared_paths(body.get("metrics"), source, f"metrics of {name!r}"),
                plots=_declared_paths(body.get("plots"), source, f"plots of {name!r}"),
                params=_declared_params(body.get("params"), source, f"params of {name!r}"),
                wdir=str(wdir) if wdir is not None else ".",
                foreach=foreach,
                matrix=outer.get("matrix"),
            )
        )
    top_params = _declared_paths(doc.get("params"), source, "params")
    raw_vars = doc.get("vars")
    return DvcYaml(
        stages=tuple(stages),
        metrics=_declared_paths(doc.get("metrics"), source, "metrics"),
        params=top_params,
        plots=_top_plots(doc.get("plots"), source),
        vars=tuple(raw_vars) if isinstance(raw_vars, list) else (),
    )
