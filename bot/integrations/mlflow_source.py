"""Reading MLflow: the one seam to its client.

`MlflowSource` reads through `mlflow.tracking.MlflowClient` (imported lazily; `pip install
modeltrail[mlflow]`), so the same code reads a SQLite/SQL store (`sqlite:///mlflow.db`) and a
running `mlflow server` over its REST API (`http://host:5000`). It turns MLflow's objects into
the plain values of `mlflow_mapping`; `mlflow_import` decides what to do with them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from modeltrail.bot.integrations.mlflow_mapping import (
    MlflowDataset,
    MlflowLoggedModel,
    MlflowRun,
    MlflowVersion,
)
from modeltrail.core.errors import FileLimitError, ModeltrailError, UsageError
from modeltrail.core.safe_files import DEFAULT_LIMITS, FileLimits, read_regular_file

ENV_FILES = ("requirements.txt", "python_env.yaml")
# MLflow's REST client retries for minutes by default; an import should say "unreachable" soon.
_CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # ours is the one the CLI shows
}
_UNREACHABLE = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Connection refused",
    "Name or service not known",
    "Read timed out",
)


class MlflowImportError(ModeltrailError):
    """MLflow cannot be read (not installed, unreachable, unknown model)."""


class MlflowNotFound(MlflowImportError):
    """MLflow has no such registered model or version (asking again will not find it)."""


class MlflowUnreachable(MlflowImportError):
    """The MLflow server or store cannot be reached: nothing more can be read from it."""


class MlflowSource:
    """Reads one MLflow tracking server or store. Every MLflow call goes through here."""

    def __init__(
        self, tracking_uri: str, *, client: Any = None, limits: FileLimits = DEFAULT_LIMITS
    ) -> None:
        self.limits = limits  # for the environment files read from a logged model
        if not tracking_uri or not tracking_uri.strip():
            raise UsageError(
                "no MLflow tracking URI", hint="pass --tracking-uri or set MLFLOW_TRACKING_URI"
            )
        self.tracking_uri = tracking_uri.strip()
        _check_local_store(self.tracking_uri)
        for key, value in _CLIENT_DEFAULTS.items():
            os.environ.setdefault(key, value)
        if client is None:
            try:
                from mlflow.tracking import MlflowClient
            except ImportError:
                raise MlflowImportError(
                    "the MLflow client is not installed",
                    hint="pip install 'modeltrail[mlflow]'",
                ) from None
            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        self.client = client

    # every call is wrapped so that MLflow's and requests' errors become one clear line
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ModeltrailError:
            raise
        except Exception as exc:  # MlflowException, requests' and SQLAlchemy's errors
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> MlflowImportError:
        if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
            return MlflowNotFound(
                f"{what}: not found in MLflow at {self._uri()}",
                hint="check the name; `modeltrail import mlflow` without --model imports all",
            )
        text = str(exc)
        if any(sign in text for sign in _UNREACHABLE):
            return MlflowUnreachable(
                f"cannot reach MLflow at {self._uri()}: the connection failed",
                hint="check --tracking-uri / MLFLOW_TRACKING_URI and that the server is running",
            )
        return MlflowImportError(
            f"cannot read MLflow at {self._uri()} ({what}): {_first_line(exc)}",
            hint="check --tracking-uri / MLFLOW_TRACKING_URI and that the server is running",
        )

    def _uri(self) -> str:
        from modeltrail.core.capture.git import strip_credentials

        return strip_credentials(self.tracking_uri)

    def model_names(self) -> list[str]:
        names: list[str] = []
        for model in self._paged("listing registered models", self.client.search_registered_models):
            names.append(model.name)
        return sorted(names)

    def versions(self, name: str) -> list[MlflowVersion]:
        """Every version of a registered model, oldest first, without run data."""
        registered = self._call(
            f"registered model {name!r}", self.client.get_registered_model, name
        )
        by_version: dict[str, list[str]] = {}
        for alias, number in (getattr(registered, "aliases", None) or {}).items():
            by_version.setdefault(str(number), []).append(alias)
        found = self._paged(
            f"versions of {name!r}",
            self.client.search_model_versions,
            filter_string=f"name='{_quote(name)}'",
        )
        versions = [_version(mv, by_version.get(str(mv.version), []), registered) for mv in found]
        return sorted(versions, key=lambda v: v.version)

    def version(self, name: str, number: int) -> MlflowVersion:
        registered = self._call(
            f"registered model {name!r}", self.client.get_registered_model, name
        )
        aliases = [
            alias
            for alias, n in (getattr(registered, "aliases", None) or {}).items()
            if str(n) == str(number)
        ]
        mv = self._call(
            f"{name!r} version {number}", self.client.get_model_version, name, str(number)
        )
        return _version(mv, aliases, registered)

    def with_run(self, version: MlflowVersion) -> MlflowVersion:
        """The version with its run (params, metric histories, tags, datasets), its MLflow 3
        LoggedModel (and that model's source run when the version names none), and the
        logged model's requirements.txt / python_env.yaml when present."""
        logged = self._logged_model(version.logged_model_id) if version.logged_model_id else None
        run_id = version.run_id or (logged.source_run_id if logged else None)
        run = self._run(run_id) if run_id else None
        files, error = self._model_files(version)
        return dataclasses.replace(
            version,
            run=run,
            logged_model=logged,
            requirements=files.get("requirements.txt"),
            python_env=files.get("python_env.yaml"),
            environment_error=error,
        )

    def _logged_model(self, model_id: str) -> MlflowLoggedModel | None:
        try:
            model = self.client.get_logged_model(model_id)
        except Exception as exc:  # MlflowException, requests' and SQLAlchemy's errors
            if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None  # deleted; the version still imports
            raise self._error(f"logged model {model_id}", exc) from None
        points = [
            (m.key, getattr(m, "dataset_name", None) or None, m)
            for m in (getattr(model, "metrics", None) or [])
        ]
        datasets: dict[str, set[str | None]] = {}
        for key, dataset, _ in points:
            datasets.setdefault(key, set()).add(dataset)
        metrics: dict[str, list[tuple[int, float, int]]] = {}
        for key, dataset, m in points:
            # The same metric against several datasets (eval on train and test) keeps both.
            name = f"{key}.{dataset}" if dataset and len(datasets[key]) > 1 else key
            metrics.setdefault(name, []).append((int(m.step), float(m.value), int(m.timestamp)))
        return MlflowLoggedModel(
            model_id=model.model_id,
            name=model.name or None,
            params=dict(model.params or {}),
            metrics=metrics,
            tags=dict(model.tags or {}),
            source_run_id=model.source_run_id or None,
            artifact_location=model.artifact_location or None,
            created_ms=model.creation_timestamp,
        )

    def _run(self, run_id: str) -> MlflowRun | None:
        try:
            run = self.client.get_run(run_id)
        except Exception as exc:  # MlflowException, requests' and SQLAlchemy's errors
            if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None  # the run was deleted; the version still imports
            raise self._error(f"run {run_id}", exc) from None
        histories = {}
        for key in run.data.metrics:
            points = self._call(
                f"metric {key!r} of run {run_id}", self.client.get_metric_history, run_id, key
            )
            histories[key] = [(int(m.step), float(m.value), int(m.timestamp)) for m in points]
        datasets = []
        inputs = getattr(run, "inputs", None)
        for item in getattr(inputs, "dataset_inputs", None) or []:
            ds = item.dataset
            tags = {t.key: t.value for t in (item.tags or [])}
            datasets.append(
                MlflowDataset(
                    name=ds.name,
                    digest=ds.digest or None,
                    source_type=ds.source_type or None,
                    source=ds.source or None,
                    context=tags.get("mlflow.data.context") or None,
                )
            )
        return MlflowRun(
            run_id=run_id,
            experiment_id=run.info.experiment_id,
            params=dict(run.data.params),
            metrics=histories,
            tags=dict(run.data.tags),
            datasets=tuple(datasets),
            user=run.info.user_id or None,
            artifact_uri=run.info.artifact_uri,
            start_ms=run.info.start_time,
            end_ms=run.info.end_time,
        )

    def _model_files(self, version: MlflowVersion) -> tuple[dict[str, str], str | None]:
        """requirements.txt and python_env.yaml of the logged model, those that exist, read
        through MLflow's artifact repository; and why they could not be read, if so (an
        `mlflow-artifacts:/` location read from the SQL store needs the server)."""
        from mlflow.artifacts import list_artifacts
        from mlflow.exceptions import MlflowException

        try:
            location = self.client.get_model_version_download_uri(
                version.model, str(version.version)
            )
        except MlflowException:
            location = version.source
        if not location:
            return {}, None
        parsed = urllib.parse.urlsplit(location)
        if parsed.scheme == "mlflow-artifacts" and not parsed.netloc and not _is_http(self):
            return {}, (
                f"{location} is served by the MLflow server; import with --tracking-uri "
                "http://<mlflow server> to read it"
            )
        found: dict[str, str] = {}
        try:
            listed = list_artifacts(artifact_uri=location, tracking_uri=self.tracking_uri)
            present = {Path(f.path).name: f.file_size for f in listed if not f.is_dir}
            with tempfile.TemporaryDirectory(prefix="modeltrail-mlflow-") as tmp:
                for name in ENV_FILES:
                    if name in present:
                        text = self._env_file(location, name, present[name], tmp)
                        if isinstance(text, UsageError):  # not UTF-8: environment unknown
                            return found, text.message
                        found[name] = text
        except FileLimitError:
            raise  # a hostile file: the version is not imported from it
        except Exception as exc:  # MlflowException, requests', boto's, OSError
            from modeltrail.core.capture.git import strip_credentials

            return found, f"{strip_credentials(location)}: {_first_line(exc)}"
        return found, None

    def _env_file(self, location: str, name: str, size: int | None, tmp: str) -> str | UsageError:
        """One environment file of a logged model: refused (FileLimitError) without being
        downloaded when MLflow lists it over the size limit, and read through the guarded
        loader; a file that is not text comes back as the error saying so."""
        from mlflow.artifacts import download_artifacts

        if size is not None and size > self.limits.max_bytes:
            raise FileLimitError(
                f"MLflow's {name} of {location} is {size} bytes, over the limit of "
                f"{self.limits.max_bytes}",
                hint="raise MODELTRAIL_PARAMS_MAX_BYTES if it is meant to be that large",
            )
        path = download_artifacts(
            artifact_uri=f"{location.rstrip('/')}/{name}",
            dst_path=tmp,
            tracking_uri=self.tracking_uri,
        )
        try:
            return read_regular_file(path, f"MLflow's {name}", limits=self.limits)
        except FileLimitError:
            raise
        except UsageError as exc:
            return exc

    def _paged(self, what: str, method: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
        token = None
        while True:
            page = self._call(what, method, max_results=200, page_token=token, **kwargs)
            yield from page
            token = getattr(page, "token", None)
            if not token:
                return


def _version(mv: Any, aliases: Iterable[str], registered: Any = None) -> MlflowVersion:
    own = list(getattr(mv, "aliases", None) or [])
    return MlflowVersion(
        model=mv.name,
        version=int(mv.version),
        description=mv.description or None,
        aliases=tuple(sorted(set(own) | set(aliases))),
        tags=dict(mv.tags or {}),
        source=mv.source or None,
        model_id=getattr(mv, "model_id", None) or None,
        run_id=mv.run_id or None,
        created_ms=mv.creation_timestamp,
        updated_ms=mv.last_updated_timestamp,
        current_stage=mv.current_stage or None,
        user_id=mv.user_id or None,
        model_description=(getattr(registered, "description", None) or None),
        model_tags=dict(getattr(registered, "tags", None) or {}),
    )


def _is_http(source: MlflowSource) -> bool:
    return urllib.parse.urlsplit(source.tracking_uri).scheme in ("http", "https")


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _check_local_store(uri: str) -> None:
    """A SQLite URI or a local path must exist: MLflow would quietly create an empty store."""
    parsed = urllib.parse.urlsplit(uri)
    path = None
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db
        path = uri[len("sqlite:///") :].split("?")[0] if uri.startswith("sqlite:///") else None
    elif parsed.scheme == "file" or (parsed.scheme == "" and not uri.startswith("databricks")):
        path = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else uri
    if path and path != ":memory:" and not os.path.exists(path):
        raise MlflowImportError(
            f"no MLflow store at {path}",
            hint="check --tracking-uri (e.g. sqlite:///mlflow.db or http://localhost:5000)",
        )
