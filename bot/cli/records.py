"""The registry commands: init, register, list, show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import (
    app,
    limit_option,
    load_settings,
    open_reader,
    open_registry,
    print_json,
    say,
)

if TYPE_CHECKING:
    from collections.abc import Callable


# -- init ----------------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the registry database (or migrate it to this release's schema)."""
    settings = load_settings()
    registry = open_registry()
    registry.close()
    from modeltrail.bot.terminal import console

    target = settings.database_url or settings.resolved_database_url()
    from modeltrail.core.store.engine import _redact

    console().print(f"registry ready at {_redact(target)}")


# -- register ------------------------------------------------------------------------------


@app.command()
@click.argument("model")
@click.option(
    "--params",
    "params_file",
    multiple=True,
    metavar="FILE",
    help="YAML or JSON file of params (nested allowed). Repeatable.",
)
@click.option(
    "--param",
    multiple=True,
    metavar="KEY=VALUE",
    help="A param; VALUE is parsed as JSON when it can be. Repeatable.",
)
@click.option(
    "--metrics",
    "metrics_file",
    multiple=True,
    metavar="FILE",
    help="YAML or JSON file of metrics; a list value is a history. Repeatable.",
)
@click.option("--metric", multiple=True, metavar="NAME=NUMBER", help="A metric. Repeatable.")
@click.option(
    "--data",
    multiple=True,
    metavar="ROLE=PATH",
    help="A data snapshot: file, directory, DVC-tracked path or URI. Repeatable.",
)
@click.option(
    "--artifact",
    multiple=True,
    metavar="[NAME=]PATH",
    help="An artifact file or directory, kept in the artifact store by its sha256. Repeatable.",
)
@click.option(
    "--artifact-ref",
    multiple=True,
    metavar="[NAME=]PATH",
    help="An artifact recorded by path and digest only: referenced, not stored. Repeatable.",
)
@click.option("--tag", multiple=True, metavar="KEY=VALUE", help="A tag. Repeatable.")
@click.option("--version", metavar="X.Y.Z", help="Version number (default: the next patch).")
@click.option("--parent", metavar="X.Y.Z", help="Parent version (default: the newest before).")
@click.option("--description", "-m", help="Why this version exists.")
@click.option("--actor", help="Who registers (default: MODELTRAIL_ACTOR, git user, OS user).")
@click.option("--no-git", is_flag=True, help="Do not record the git state.")
@click.option("--no-env", is_flag=True, help="Do not record the environment.")
@click.option(
    "--dvc",
    "with_dvc",
    is_flag=True,
    help="Also record the DVC project here: dvc.lock deps/outs, params.yaml, metrics files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the registered version as JSON.")
def register(
    model: str,
    params_file: tuple[str, ...],
    param: tuple[str, ...],
    metrics_file: tuple[str, ...],
    metric: tuple[str, ...],
    data: tuple[str, ...],
    artifact: tuple[str, ...],
    artifact_ref: tuple[str, ...],
    tag: tuple[str, ...],
    version: str | None,
    parent: str | None,
    description: str | None,
    actor: str | None,
    no_git: bool,
    no_env: bool,
    with_dvc: bool,
    as_json: bool,
) -> None:
    """Register a version from files and flags (for CI and shells).

    In GitHub Actions or GitLab CI, the commit, branch and repository come from the CI's
    variables when the checkout is shallow or detached, and the version is tagged with the
    CI run's URL (`ci.run_url`)."""
    # The git state is read in a thread while the registry's modules import: git's
    # processes wait on the disk and the imports on the interpreter, side by side.
    code_state = None if no_git else _in_background(_capture_code_here)
    from modeltrail.bot.inputs import flatten_metrics, pairs_to_params, split_pair
    from modeltrail.core.capture.actor import resolve_actor
    from modeltrail.core.errors import UsageError
    from modeltrail.core.safe_files import load_mapping_file
    from modeltrail.core.tracking import Run
    from modeltrail.core.versioning import SemVer

    settings = load_settings()
    if version is not None:
        SemVer.parse(version)
    if parent is not None:
        SemVer.parse(parent)
    run = Run(
        model,
        description=description,
        version=version,
        parent=parent,
        cache_path=(Path(settings.cache_dir) / "statcache.db") if settings.cache_dir else None,
        settings=settings,
    )
    limits = settings.file_limits
    for path in params_file:
        run.log_params(load_mapping_file(path, "params", limits=limits))
    run.log_params(pairs_to_params(param))
    metric_values: dict[str, Any] = {}
    for path in metrics_file:
        metric_values.update(flatten_metrics(load_mapping_file(path, "metrics", limits=limits)))
    for pair in metric:
        key, value = split_pair(pair, "--metric")
        metric_values[key] = value
    for name, value in metric_values.items():
        for point in value if isinstance(value, list) else [value]:
            run.log_metric(name, point)
    for pair in data:
        role, path = split_pair(pair, "--data")
        if not path:
            raise UsageError(f"--data {pair!r} names no path")
        run.log_data(role, path)
    for items, keep in ((artifact, True), (artifact_ref, False)):
        for item in items:
            name, sep, path = item.partition("=")
            if sep and "://" not in name:
                run.log_artifact(path, name=name, store=keep)
            else:
                run.log_artifact(item, store=keep)
    for pair in tag:
        run.set_tag(*split_pair(pair, "--tag"))
    if with_dvc:
        run.log_dvc()  # after the flags and files: what they say wins

    import dataclasses
    import os

    from modeltrail.core.capture.ci import ci_facts, code_with_ci, is_shallow

    draft = run.draft(capture_code=False, capture_environment=not no_env)
    if code_state is not None:
        draft = dataclasses.replace(draft, code=code_state())
    ci = ci_facts(os.environ)
    if ci is not None:
        code = draft.code
        if not no_git:
            shallow = code is not None and is_shallow(code.repo_root)
            code = code_with_ci(code, ci, shallow=shallow, root=str(run.base_dir))
        draft = dataclasses.replace(draft, code=code, tags={**ci.tags(), **draft.tags})
    who = resolve_actor(actor, configured=settings.actor or (ci.actor if ci else None))
    registry = open_registry()
    try:
        record = registry.register(draft, actor=who)
    finally:
        registry.close()
    if as_json:
        from modeltrail.core.serialize import record_to_dict

        print_json(record_to_dict(record))
        return
    parent_note = f" (parent {record.parent})" if record.parent else ""
    say(f"registered {record.model} {record.version}{parent_note}")


def _capture_code_here() -> Any:
    from modeltrail.core.capture.git import capture_code

    return capture_code(Path.cwd())  # where `Run` records from: the working directory


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start `work` in a thread; the returned function waits for its result (or raises
    what it raised)."""
    import threading

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller, who raises it
            box["error"] = exc

    thread = threading.Thread(target=target, name="modeltrail-git", daemon=True)
    thread.start()

    def result() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


# -- list / show -----------------------------------------------------------------------------


@app.command("list")
@click.argument("model", required=False)
@limit_option("Versions")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_(model: str | None, limit: int, as_json: bool) -> None:
    """List models (latest version, counts), or one model's versions newest first."""
    registry = open_reader()
    try:
        if model is None:
            models = registry.list_models()
            if as_json:
                from modeltrail.core.serialize import model_summary_to_dict

                print_json([model_summary_to_dict(m) for m in models])
                return
            from modeltrail.bot.terminal import console, models_table

            if not models:
                console().print("no models yet: register one with `modeltrail register` or track()")
                return
            console().print(models_table(models))
            return
        versions = registry.list_versions(model, limit=limit or None)
        total = registry.count_versions(model)
    finally:
        registry.close()
    if as_json:
        from modeltrail.core.serialize import version_summary_to_dict

        print_json([version_summary_to_dict(v) for v in versions])
        return
    from modeltrail.bot.terminal import console, versions_table

    console().print(versions_table(model, versions, total))


@app.command()
@click.argument("model", metavar="MODEL[@REF]")
@click.argument("version", required=False)
@click.option("--json", "as_json", is_flag=True, help="Everything recorded, as JSON.")
@click.option("--history", is_flag=True, help="Include every metric point (with --json).")
def show(model: str, version: str | None, as_json: bool, history: bool) -> None:
    """Show everything recorded for a version (default: the newest).

    VERSION is a number or a stage: production, staging, golden, latest, previous; or write
    MODEL@production / MODEL/2.1.5."""
    from modeltrail.core.refs import parse_ref

    ref = parse_ref(model, version)
    registry = open_reader()
    try:
        number = registry.resolve_version(ref.model, ref.selector)
        record = registry.load(ref.model, number, history=history)
    finally:
        registry.close()
    if as_json:
        from modeltrail.core.serialize import record_to_dict

        print_json(record_to_dict(record))
        return
    from modeltrail.bot.terminal import console, record_view

    console().print(record_view(record))
