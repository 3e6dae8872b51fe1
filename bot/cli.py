"""The `modeltrail` command. Thin: parse, call the core, format, choose the exit code.

Heavy modules (git, the Slack SDK, openai, matplotlib) are imported inside the commands that
need them, so `modeltrail --help` and `modeltrail show` start fast. Click rather than typer:
typer 0.29 imports pydantic on start-up (~0.1 s), a quarter of the `show` budget.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from modeltrail.core.config import Settings
    from modeltrail.core.registry import Registry


@dataclass
class _State:
    db: str | None = None
    debug: bool = False


STATE = _State()


@click.group(
    name="modeltrail",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    metavar="URL",
    help="Registry database URL (default: MODELTRAIL_DATABASE_URL, "
    "else sqlite:///.modeltrail/registry.db).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def app(db: str | None, debug: bool) -> None:
    """A permanent, explainable record of every model version, and what changed."""
    STATE.db = db
    STATE.debug = debug


def _settings() -> Settings:
    from modeltrail.core.config import Settings

    return Settings.load().with_overrides(database_url=STATE.db)


def _registry() -> Registry:
    from modeltrail.core.registry import Registry

    return Registry.open(settings=_settings())


def _reader() -> Any:
    """For reads: the stdlib SQLite reader when it can serve (fast start), else the Registry."""
    from modeltrail.core.sqlite_reader import SqliteReader

    return SqliteReader.open(_settings()) or _registry()


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


# -- init ----------------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the registry database (or migrate it to this release's schema)."""
    settings = _settings()
    registry = _registry()
    registry.close()
    from .terminal import console

    target = settings.database_url or settings.resolved_database_url()
    from modeltrail.core.db import _redact

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
    help="An artifact, recorded with its digest, never copied. Repeatable.",
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
    from modeltrail.core.actor import resolve_actor
    from modeltrail.core.errors import UsageError
    from modeltrail.core.tracking import Run
    from modeltrail.core.versioning import SemVer

    from .inputs import flatten_metrics, load_mapping_file, pairs_to_params, split_pair

    settings = _settings()
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
    )
    for path in params_file:
        run.log_params(load_mapping_file(path, "params"))
    run.log_params(pairs_to_params(param))
    metric_values: dict[str, Any] = {}
    for path in metrics_file:
        metric_values.update(flatten_metrics(load_mapping_file(path, "metrics")))
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
    for item in artifact:
        name, sep, path = item.partition("=")
        if sep and "://" not in name:
            run.log_artifact(path, name=name)
        else:
            run.log_artifact(item)
    for pair in tag:
        run.set_tag(*split_pair(pair, "--tag"))
    if with_dvc:
        run.log_dvc()  # after the flags and files: what they say wins

    import dataclasses
    import os

    from modeltrail.core.capture.ci import ci_facts, code_with_ci, is_shallow

    draft = run.draft(capture_code=not no_git, capture_environment=not no_env)
    ci = ci_facts(os.environ)
    if ci is not None:
        code = draft.code
        if not no_git:
            shallow = code is not None and is_shallow(code.repo_root)
            code = code_with_ci(code, ci, shallow=shallow, root=str(run.base_dir))
        draft = dataclasses.replace(draft, code=code, tags={**ci.tags(), **draft.tags})
    who = resolve_actor(actor, configured=settings.actor or (ci.actor if ci else None))
    registry = _registry()
    try:
        record = registry.register(draft, actor=who)
    finally:
        registry.close()
    if as_json:
        from modeltrail.core.serialize import record_to_dict

        _print_json(record_to_dict(record))
        return
    from .terminal import console

    parent_note = f" (parent {record.parent})" if record.parent else ""
    console().print(f"registered {record.model} {record.version}{parent_note}")


# -- list / show -----------------------------------------------------------------------------


@app.command("list")
@click.argument("model", required=False)
@click.option(
    "--limit",
    "-n",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="Versions to show, newest first (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_(model: str | None, limit: int, as_json: bool) -> None:
    """List models (latest version, counts), or one model's versions newest first."""
    registry = _reader()
    try:
        if model is None:
            models = registry.list_models()
            if as_json:
                from modeltrail.core.serialize import model_summary_to_dict

                _print_json([model_summary_to_dict(m) for m in models])
                return
            from .terminal import console, models_table

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

        _print_json([version_summary_to_dict(v) for v in versions])
        return
    from .terminal import console, versions_table

    console().print(versions_table(model, versions, total))


@app.command()
@click.argument("model")
@click.argument("version", required=False)
@click.option("--json", "as_json", is_flag=True, help="Everything recorded, as JSON.")
@click.option("--history", is_flag=True, help="Include every metric point (with --json).")
def show(model: str, version: str | None, as_json: bool, history: bool) -> None:
    """Show everything recorded for a version (default: the newest)."""
    from modeltrail.core.versioning import is_version

    named = version is not None and not is_version(version)  # production, golden, …
    registry = _registry() if named else _reader()
    try:
        if named:
            version = registry.resolve_version(model, version)
        version = version or registry.latest_version(model)
        record = registry.load(model, version, history=history)
    finally:
        registry.close()
    if as_json:
        from modeltrail.core.serialize import record_to_dict

        _print_json(record_to_dict(record))
        return
    from .terminal import console, record_view

    console().print(record_view(record))


# -- diff / changelog ------------------------------------------------------------------------


@app.command()
@click.argument("model")
@click.argument("first", required=False, metavar="[V1]")
@click.argument("second", required=False, metavar="[V2]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json", "html"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--repo",
    metavar="PATH",
    help="A checkout to read commits from (default: where "
    "the newer version was trained, when it is on this machine).",
)
@click.option("--no-git", is_flag=True, help="Do not read commits between the versions.")
@click.option(
    "--summary",
    is_flag=True,
    help="Start with a summary in plain words (the LLM's when OPENAI_API_KEY or "
    "OPENAI_BASE_URL is set, else an automatic one).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def diff(
    model: str,
    first: str | None,
    second: str | None,
    fmt: str,
    repo: str | None,
    no_git: bool,
    summary: bool,
    out: Path | None,
) -> None:
    """What changed between two versions: V1 V2, V against its parent, or the newest two."""
    from modeltrail.core.compare import compare, resolve_pair

    registry = _registry()
    try:
        old, new = resolve_pair(registry, model, first, second)
        result = compare(registry, model, old, new, repo=repo, git=not no_git)
        said = _summaries(registry, [result])[0] if summary else None
    finally:
        registry.close()
    if fmt == "json":
        data = result.to_dict()
        if said is not None:
            data["summary"] = {"text": said.text, "source": said.source}
        _emit(json.dumps(data, indent=2, ensure_ascii=False) + "\n", out)
        return
    from modeltrail.templates.render import render

    text = render(
        f"diff.{'txt' if fmt == 'text' else fmt}.j2",
        fmt,
        diff=result,
        summary=said.marked if said else None,
    )
    _emit(text, out, colour=fmt == "text")


def _summaries(registry: Registry, diffs: list[Any]) -> list[Any]:
    """Summaries of `diffs` (LLM when configured, cached; else the template's)."""
    from .assistant.cache import SummaryCache
    from .assistant.llm import llm_from_settings
    from .assistant.summaries import summarize

    llm = llm_from_settings(_settings())
    cache = SummaryCache(registry.engine)
    return [summarize(d, llm=llm, cache=cache) for d in diffs]


@app.command()
@click.argument("model")
@click.option("--since", metavar="VERSION", help="Only versions newer than this one.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "text"]),
    default="md",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--git",
    "with_git",
    is_flag=True,
    help="List the commits of each entry (reads the local repository per version).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to a file, e.g. CHANGELOG.md.",
)
@click.option("--summary", is_flag=True, help="A plain-words summary for each entry.")
def changelog(
    model: str, since: str | None, fmt: str, with_git: bool, out: Path | None, summary: bool
) -> None:
    """The model's whole history, newest first, each version against its parent."""
    from modeltrail.core.compare import changelog as build_changelog
    from modeltrail.templates.render import render

    registry = _registry()
    try:
        entries = build_changelog(registry, model, since=since, git=with_git)
        summaries: dict[str, str] = {}
        if summary:
            with_diff = [e for e in entries if e.diff is not None]
            said = _summaries(registry, [e.diff for e in with_diff])
            summaries = {e.record.version: s.marked for e, s in zip(with_diff, said, strict=True)}
    finally:
        registry.close()
    name = f"changelog.{'txt' if fmt == 'text' else fmt}.j2"
    _emit(render(name, fmt, model=model, entries=entries, summaries=summaries), out)


def _emit(text: str, out: Path | None, *, colour: bool = False) -> None:
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            from modeltrail.core.errors import UsageError

            raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
        return
    if colour and sys.stdout.isatty():
        from .terminal import colourise, console

        # soft_wrap: long lines are left to the terminal to wrap, never broken by rich
        console().print(colourise(text), end="", soft_wrap=True)
        return
    sys.stdout.write(text)


# -- demo ------------------------------------------------------------------------------------


@app.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("modeltrail-demo"),
    show_default=True,
    help="Where to create the demo project.",
)
def demo(directory: Path) -> None:
    """Create a demo project, train and register real versions, and report what changed."""
    from .demo import run_demo

    run_demo(directory, settings=_settings())


# The lifecycle and governance commands live in their own module; importing it registers them.
from . import cli_ask, cli_digest, cli_import, cli_lifecycle, cli_monitor, cli_serve  # noqa: E402, F401

# -- entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn modeltrail's errors into a red line and an exit code."""
    from modeltrail.core.errors import ModeltrailError

    args = list(sys.argv[1:] if argv is None else argv)
    STATE.debug = "--debug" in args
    try:
        app.main(args=args, prog_name="modeltrail", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ModeltrailError as exc:
        if STATE.debug:
            raise
        _error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted", None)
        return 130
    except Exception as exc:
        if STATE.debug:
            raise
        _error(
            f"unexpected error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback",
        )
        return 1
    return 0


def _error(message: str, hint: str | None) -> None:
    from .terminal import console

    err = console(stderr=True)
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err.print(f"[dim]hint: {escape(hint)}[/]", soft_wrap=True)


def entry() -> None:
    sys.exit(main())
