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
import posixpath
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeltrail.core.capture.actor import resolve_actor
from modeltrail.core.config import Settings
from modeltrail.core.errors import ModeltrailError, UsageError
from modeltrail.core.metrics import CheckedPoints, check_metric_name, check_metric_value
from modeltrail.core.params import flatten_params
from modeltrail.core.records import Artifact, DataSnapshot, VersionDraft, VersionRecord
from modeltrail.core.registry.writer import Registry, check_model_name

if TYPE_CHECKING:
    from modeltrail.core.vault.blobs import BlobStore

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
        artifact_store: BlobStore | None = None,
        settings: Settings | None = None,
        database_url: str | None = None,
    ) -> None:
        self.model = check_model_name(model)
        self.description = description
        self.version = version
        self.parent = parent
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self._params: dict[str, Any] = {}
        self._points: dict[str, list[tuple[int, float, float]]] = {}
        self._data: dict[str, DataSnapshot] = {}
        self._profiles: dict[str, dict[str, Any]] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._tags: dict[str, str] = dict(tags or {})
        self._cache_path = cache_path
        self._cache: Any = None
        # The artifact store: given, else opened from the settings on the first stored artifact.
        self._store = artifact_store
        self._settings = settings
        self._database_url = database_url
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

    def log_data(
        self, role: str, path: str | os.PathLike[str], *, profile: bool | None = None
    ) -> DataSnapshot:
        """Hash a file, a directory or a DVC-tracked path now; record a URI as given.

        A CSV or Parquet file is also profiled (per column: type, missing rate, histogram;
        a seeded sample beyond the row limit), the baseline production data is judged
        against: by default when the file is a table, never with `profile=False`, and
        `profile=True` insists (an error when the path is not a readable table)."""
        from modeltrail.core.capture.data import snapshot_data

        if not isinstance(role, str) or not role.strip():
            raise UsageError(f"data role {role!r} must be a non-empty string (train, test, …)")
        snapshot = snapshot_data(
            role, os.fspath(path), cache=self._stat_cache(), base_dir=str(self.base_dir)
        )
        self._data[role] = snapshot
        if profile is not False:
            self._profile(role, _resolve(self.base_dir, os.fspath(path)), required=bool(profile))
        return snapshot

    def _profile(self, role: str, path: str, *, required: bool) -> None:
        from modeltrail.core.capture.tables import is_table, profile_file

        if not is_table(path):
            if required:
                raise UsageError(
                    f"cannot profile {path!r}: only CSV and Parquet files are profiled",
                    hint="pass profile=False, or log the table file itself",
                )
            self._profiles.pop(role, None)
            return
        try:
            self._profiles[role] = profile_file(path).to_dict()
        except UsageError:
            if required:
                raise
            self._profiles.pop(role, None)  # e.g. Parquet without pyarrow: hashed, not profiled

    def log_artifact(
        self, path: str | os.PathLike[str], name: str | None = None, *, store: bool = True
    ) -> Artifact:
        """Keep a file's or directory's bytes in the artifact store (hashed while copied, stored
        once however often registered) and record its digest. `store=False`, and URIs, are
        referenced, not stored: only where the artifact is and its digest are recorded."""
        from modeltrail.core.capture.data import is_uri, normalise_path, snapshot_artifact

        given = os.fspath(path)
        local = _resolve(self.base_dir, given)
        if store and not (is_uri(given) and not given.lower().startswith("file:")):
            from modeltrail.core.vault.vault import store_path

            kept = store_path(self._artifact_store(), local, cache=self._stat_cache())
            uri = normalise_path(given) if not os.path.isabs(given) else normalise_path(local)
            default = posixpath.basename(uri.rstrip("/")) or uri
            artifact = Artifact(name or default, uri, kept.digest, kept.size, True, kept.kind)
        else:
            artifact = snapshot_artifact(local, name=name, cache=self._stat_cache())
            kind = (
                None
                if artifact.digest is None
                else ("directory" if os.path.isdir(local) else "file")
            )
            uri = artifact.uri
            if not os.path.isabs(given) and "://" not in given:
                uri = Path(given).as_posix()
            artifact = Artifact(artifact.name, uri, artifact.digest, artifact.size, False, kind)
        self._artifacts[artifact.name] = artifact
        return artifact

    def use_artifact_store(self, store: BlobStore) -> None:
        self._store = store

    def _artifact_store(self) -> BlobStore:
        if self._store is None:
            from modeltrail.core.vault.open import open_store

            self._store = open_store(self._settings or Settings.load(), self._database_url)
        return self._store

    def log_dvc(self, start: str | os.PathLike[str] | None = None) -> None:
        """Log the recipe of the DVC project at or above `start` (default: `base_dir`):
        data, artifacts, params and metrics by the rules of `capture.dvc_project`. What was
        logged explicitly wins; a path already logged as an artifact is never data."""
        from modeltrail.core.capture.data import snapshot_artifact, snapshot_data
        from modeltrail.core.capture.dvc_project import read_dvc_project
        from modeltrail.core.records import DVC_MD5_PREFIX, Artifact

        logged = [
            os.path.join(self.base_dir, a.uri)
            for a in self._artifacts.values()
            if "://" not in a.uri
        ]
        recipe = read_dvc_project(
            os.fspath(start) if start is not None else str(self.base_dir),
            artifact_paths=logged,
            limits=(self._settings or Settings.load()).file_limits,
        )
        self._params = {**flatten_params(recipe.params), **self._params}
        for name, value in recipe.metrics.items():
            if name in self._points:
                continue
            points = value if isinstance(value, list) else [value]
            numbers = [p for p in points if isinstance(p, int | float) and not isinstance(p, bool)]
            if numbers and len(numbers) == len(points):
                for point in numbers:
                    self.log_metric(name, float(point))
        for record in recipe.data:
            path = record.entry.path
            if path not in self._data:
                self._data[path] = snapshot_data(
                    path, path, cache=self._stat_cache(), base_dir=recipe.root, dvc=record
                )
        taken = {os.path.normpath(p) for p in logged}
        for entry in recipe.artifacts:
            name = posixpath.basename(entry.path.rstrip("/")) or entry.path
            where = os.path.join(recipe.root, entry.path)
            if name in self._artifacts or os.path.normpath(where) in taken:
                continue
            if os.path.exists(where):
                found = snapshot_artifact(
                    entry.path, name=name, cache=self._stat_cache(), base_dir=recipe.root
                )
            else:  # not pulled here: DVC's md5 is what we know
                found = Artifact(
                    name,
                    entry.path,
                    f"{DVC_MD5_PREFIX}{entry.md5}" if entry.md5 else None,
                    entry.size,
                )
            self._artifacts[name] = found

    def set_tag(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not key:
            raise UsageError(f"tag name {key!r} must be a non-empty string")
        self._tags[key] = str(value)

    def _stat_cache(self) -> Any:
        if self._cache is None:
            from modeltrail.core.capture.statcache import StatCache, default_cache_path

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
            from modeltrail.core.capture.git import capture_code as capture_git

            code = capture_git(self.base_dir)
        if capture_environment:
            from modeltrail.core.capture.environment import capture_environment as capture_env

            environment = capture_env()
        return VersionDraft(
            model=self.model,
            params=dict(self._params),
            metric_points={name: CheckedPoints(points) for name, points in self._points.items()},
            data=tuple(self._data.values()),
            code=code,
            environment=environment,
            artifacts=tuple(self._artifacts.values()),
            description=self.description,
            tags=dict(self._tags),
            version=self.version,
            parent=self.parent,
            profiles=dict(self._profiles),
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
    dvc: bool = False,
) -> Iterator[Run]:
    """Track one training run; leaving the block registers it as the model's next version.

    `version` pins the number (else the next patch); `parent` names the version this one
    derives from (else the newest before it). The registry is `registry`, else the one at
    `database_url`, else the configured one (MODELTRAIL_DATABASE_URL or
    .modeltrail/registry.db). On an exception inside the block nothing is registered.
    `dvc=True` also logs the DVC project's recipe when the block ends (`Run.log_dvc`).
    """
    settings = Settings.load()
    if version is not None:
        from modeltrail.core.versioning import SemVer

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
    run.use_artifact_store(target.artifact_store())
    try:
        if version is not None:
            _check_version_free(target, run.model, version)
        yield run
        if dvc:
            run.log_dvc()
        draft = run.draft(capture_code=capture_code, capture_environment=capture_environment)
        who = resolve_actor(actor, configured=settings.actor, cwd=str(run.base_dir))
        run.record = target.register(draft, actor=who)
    finally:
        if own:
            target.close()


def _check_version_free(registry: Registry, model: str, version: str) -> None:
    from modeltrail.core.errors import DuplicateVersionError, NotFoundError

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
