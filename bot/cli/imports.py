"""`modeltrail import mlflow`: bring MLflow's registered models and versions in."""

from __future__ import annotations

import sys
from typing import Any

import click

from modeltrail.bot.cli.common import actor_for, app, load_settings, open_registry, print_json, say


@app.group(name="import")
def import_() -> None:
    """Import versions recorded by another tool (MLflow)."""


@import_.command(name="mlflow")
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="MLflow server (http://host:5000) or store (sqlite:///mlflow.db); "
    "default: MLFLOW_TRACKING_URI.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="A registered model to import (repeatable; default: all).",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Only versions MLflow created or changed since then (YYYY-MM-DD or ISO 8601).",
)
@click.option(
    "--into",
    metavar="MODEL",
    help="Name of the model here (with one --model; default: MLflow's name, made valid).",
)
@click.option(
    "--version-template",
    metavar="TEMPLATE",
    help='MLflow version N becomes this version, e.g. "1.{N}.0" (default) or "{N}.0.0".',
)
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="ALIAS=STAGE",
    help="Alias → stage rule (production|staging|none), repeatable; replaces the default "
    "(champion/production/prod → production, challenger/staging/candidate → staging).",
)
@click.option("--actor", help="Who imports (default: MODELTRAIL_ACTOR, git user, OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def import_mlflow(
    tracking_uri: str | None,
    models: tuple[str, ...],
    since: str | None,
    into: str | None,
    version_template: str | None,
    aliases: tuple[str, ...],
    actor: str | None,
    as_json: bool,
) -> None:
    """Import MLflow's registered models: every version with its run's params, metric
    histories, tags, git facts, datasets and environment; aliases become stages.

    Running it again imports only what is new or changed. A version that cannot be imported
    is skipped with a warning; the exit code is the number skipped (at most 100)."""
    from modeltrail.bot.integrations.mlflow_import import importer_from_settings, parse_since

    settings = load_settings().with_overrides(
        mlflow_version_template=version_template,
        mlflow_aliases=",".join(aliases) or None,
    )
    moment = parse_since(since) if since else None
    registry = open_registry()
    try:
        importer = importer_from_settings(
            settings, registry, actor=actor_for(actor), tracking_uri=tracking_uri
        )
        with _progress(enabled=not as_json) as progress:
            report = importer.import_all(models, since=moment, into=into, progress=progress)
    finally:
        registry.close()
    if as_json:
        print_json(
            {
                "imported": [
                    {"model": m, "mlflow_version": n, "version": v} for m, n, v in report.imported
                ],
                "updated": [{"model": m, "version": v, "what": w} for m, v, w in report.updated],
                "stage_moves": [
                    {"model": m, "version": v, "stage": s, "alias": a}
                    for m, v, s, a in report.moved
                ],
                "unchanged": report.unchanged,
                "skipped": report.skipped,
                "warnings": report.warnings,
            }
        )
        _exit_for(report.skipped)
        return
    for model, number, version in report.imported:
        say(f"imported {model} {version} (MLflow version {number})")
    for model, version, what in report.updated:
        say(f"updated {model} {version}: {what}")
    for model, version, stage, alias in report.moved:
        say(f"{model} {version} → {stage} (MLflow alias {alias})")
    for line in report.skipped:
        say(f"warning: skipped {line}")
    for line in report.warnings:
        say(f"warning: {line}")
    say(report.summary())
    _exit_for(report.skipped)


def _exit_for(skipped: list[str]) -> None:
    """The exit code is how many versions were skipped (0: all imported), at most 100."""
    if skipped:
        sys.exit(min(len(skipped), 100))


class _progress:
    """A rich progress bar on stderr while versions import (only on a terminal)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from modeltrail.bot.terminal import console

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("importing", total=None)

        def update(what: str, done: int, total: int) -> None:
            self.bar.update(self.task, description=f"importing {what}", completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
