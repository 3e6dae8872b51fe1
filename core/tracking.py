"""The tracking client: log a version's recipe and results from inside a training script.

    with track("fraud-detector", description="weekly retrain") as run:
        run.log_params({"optimizer": {"name": "adam", "lr": 0.01}})
        run.log_data("train", "data/train.csv")
        run.log_metric("loss", 0.3, step=0)
    print(run.record.version)

Everything is buffered in memory and written in one transaction when the block ends, after
git and the environment are captured. If the block raises, nothing is registered: no version
number is used up, no half-written rows exist, and the exception propagates unchanged.
Data and artifact paths are hashed when they are logged, so a bad path fails at that line.
"""

from __future__ import annotations

import math
import operator
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .actor import resolve_actor
from .config import Settings
from .errors import ModeltrailError, UsageError
from .metrics import check_metric_name, check_metric_value
from .params import flatten_params
from .records import Artifact, DataSnapshot, VersionDraft, VersionRecord
from .registry import Registry, check_model_name

_INF = math.inf


class Run:
    """One training run that becomes one version when its `track()` block ends."""

    def __init__(
        self,
        model: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        version: str | None = None,
        parent: str | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model = check_model_name(model)
        self.description = description
        self.version = version
        self.parent = parent
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self._params: dict[str, Any] = {}
        self._points: dict[str, list[tuple[int, float, float]]] = {}
        self._data: dict[str, DataSnapshot] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._tags: dict[str, str] = dict(tags or {})
        self._cache_path = cache_path
        self._cache: Any = None
        self.record: VersionRecord | None = None

    # -- params ---------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Nested mappings are flattened to dotted keys; later values replace earlier ones."""
        self._params.update(flatten_params(params))

    # -- metrics --------------------------------------------------------------------------

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Buffer one point; `step` defaults to the number of points logged for `name` so far.

        This is the hot path of a training loop: a type check, a finiteness check and a list
        append; nothing touches the database until the block ends.
        """
        if value.__class__ is not float or not (-_INF < value < _INF):
            value = check_metric_value(name, value)
        history = self._points.get(name)
        if history is None:
            check_metric_name(name)
            history = self._points[name] = []
        if step is None:
            step = len(history)
        elif step.__class__ is not int:
            # operator.index takes int subclasses and NumPy integers, refuses floats.
            try:
                if isinstance(step, bool):
                    raise TypeError
                step = operator.index(step)
            except TypeError:
                raise UsageError(
                    f"metric {name!r}: step must be an integer, not {step!r}"
                ) from None
        history.append((step, value, time.time()))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for name, value in metrics.items():
            self.log_metric(name, value, step=step)

    # -- data, artifacts, tags --------------------------------------------------------------

    def log_data(self, role: str, path: str | os.PathLike[str]) -> DataSnapshot:
        """Hash a file, a directory or a DVC-tracked path now; record a URI as given."""
        from .capture.data import snapshot_data

        if not isinstance(role, str) or not role.strip():
            raise UsageError(f"data role {role!r} must be a non-empty string (train, test, …)")
        snapshot = snapshot_data(
            role, os.fspath(path), cache=self._stat_cache(), base_dir=str(self.base_dir)
        )
        self._data[role] = snapshot
        return snapshot

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Artifact:
        """Record where an artifact is and its digest; the file is never copied."""
        from .capture.data import snapshot_artifact

        artifact = snapshot_artifact(
            _resolve(self.base_dir, os.fspath(path)), name=name, cache=self._stat_cache()
        )
        if not os.path.isabs(os.fspath(path)) and "://" not in os.fspath(path):
            artifact = Artifact(
                artifact.name, Path(path).as_posix(), artifact.digest, artifact.size
            )
        self._artifacts[artifact.name] = artifact
        return artifact

    def set_tag(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not key:
            raise UsageError(f"tag name {key!r} must be a non-empty string")
        self._tags[key] = str(value)

    def _stat_cache(self) -> Any:
        if self._cache is None:
            from .capture.statcache import StatCache, default_cache_path

            self._cache = StatCache(
                Path(self._cache_path) if self._cache_path else default_cache_path()
            )
        return self._cache

    # -- finishing ------------------------------------------------------------------------

    def draft(self, *, capture_code: bool = True, capture_environment: bool = True) -> VersionDraft:
        """Everything logged so far plus git and environment, as a registrable value."""
        code = None
        environment = None
        if capture_code:
            from .capture.git import capture_code as capture_git

            code = capture_git(self.base_dir)
        if capture_environment:
            from .capture.environment import capture_environment as capture_env

            environment = capture_env()
        return VersionDraft(
            model=self.model,
            params=dict(self._params),
            metric_points={name: list(points) for name, points in self._points.items()},
            data=tuple(self._data.values()),
            code=code,
            environment=environment,
            artifacts=tuple(self._artifacts.values()),
            description=self.description,
            tags=dict(self._tags),
            version=self.version,
            parent=self.parent,
        )


@contextmanager
def track(
    model: str,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    version: str | None = None,
    parent: str | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
    database_url: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    capture_code: bool = True,
    capture_environment: bool = True,
) -> Iterator[Run]:
    """Track one training run; leaving the block registers it as the model's next version.

    `version` pins the number (else the next patch); `parent` names the version this one
    derives from (else the newest before it). The registry is `registry`, else the one at
    `database_url`, else the configured one (MODELTRAIL_DATABASE_URL or
    .modeltrail/registry.db). On an exception inside the block nothing is registered.
    """
    settings = Settings.load()
    if version is not None:
        from .versioning import SemVer

        SemVer.parse(version)  # fail before the training runs, not after
    run = Run(
        model,
        description=description,
        tags=tags,
        version=version,
        parent=parent,
        base_dir=base_dir,
        cache_path=(Path(settings.cache_dir) / "statcache.db") if settings.cache_dir else None,
    )
    # Open the registry (and check a pinned version is free) before the training runs, so a
    # wrong database URL or a taken number fails now, not after hours of training.
    own = registry is None
    target = registry or Registry.open(database_url, settings=settings)
    try:
        if version is not None:
            _check_version_free(target, run.model, version)
        yield run
        draft = run.draft(capture_code=capture_code, capture_environment=capture_environment)
        who = resolve_actor(actor, configured=settings.actor, cwd=str(run.base_dir))
        run.record = target.register(draft, actor=who)
    finally:
        if own:
            target.close()


def _check_version_free(registry: Registry, model: str, version: str) -> None:
    from .errors import DuplicateVersionError, NotFoundError

    try:
        registry.load(model, version)
    except NotFoundError:
        return
    raise DuplicateVersionError(model, version)


def _resolve(base: Path, path: str) -> str:
    if "://" in path or os.path.isabs(path):
        return path
    return str(base / path)


__all__ = ["ModeltrailError", "Run", "track"]
