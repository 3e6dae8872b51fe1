"""Change reports: diff and changelog (with optional plain-words summaries)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import app, emit, load_settings, open_reader, open_registry

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry


# -- diff / changelog ------------------------------------------------------------------------


@app.command()
@click.argument("model", metavar="MODEL[@REF]")
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
    """What changed between two versions: V1 V2, V against its parent, or the newest two.

    A version is a number or a stage (production, staging, golden, latest, previous):
    `diff M production latest`, `diff M@previous M@production`."""
    from modeltrail.core.registry.compare import resolve_pair, start_compare

    model, first, second = _diff_refs(model, first, second)
    # Summaries are cached in the database through SQLAlchemy; a plain diff reads with sqlite3.
    registry = open_registry() if summary else open_reader()
    try:
        old, new = resolve_pair(registry, model, first, second)
        # git starts here, on the two records' commits, and runs while the diff engine and
        # the templates import: across a long range it is most of the command's time.
        pending = start_compare(registry, model, old, new, repo=repo, git=not no_git)
        template = f"diff.{'txt' if fmt == 'text' else fmt}.j2"
        if fmt != "json":
            from modeltrail.templates.render import environment, render

            environment(fmt).get_template(template)  # loaded and cached while git runs
        result = pending.result()
        said = _summaries(registry, [result])[0] if summary else None
    finally:
        registry.close()
    if fmt == "json":
        data = result.to_dict()
        if said is not None:
            data["summary"] = {"text": said.text, "source": said.source}
        emit(json.dumps(data, indent=2, ensure_ascii=False) + "\n", out)
        return
    text = render(
        template,
        fmt,
        diff=result,
        summary=said.marked if said else None,
    )
    emit(text, out, colour=fmt == "text")


def _diff_refs(
    model: str, first: str | None, second: str | None
) -> tuple[str, str | None, str | None]:
    """`M@a M@b` / `M@a b` / `M a b`: the model and up to two selectors."""
    from modeltrail.core.errors import UsageError
    from modeltrail.core.refs import parse_ref

    head = parse_ref(model, default="latest")
    named = model.strip() != head.model
    words = [w for w in (first, second) if w is not None]
    selectors = [head.selector] if named else []
    for word in words:
        ref = None if word.strip().startswith("@") else parse_ref(word)
        if ref is not None and ref.model == word.strip():
            ref = None  # a bare word: a selector, not a model
        if ref is not None and ref.model != head.model:
            raise UsageError(f"{word!r} names another model than {head.model!r}")
        selectors.append(ref.selector if ref is not None else word)
    if len(selectors) > 2:
        raise UsageError("a diff compares two versions; name at most two")
    padded = [*selectors, None, None]
    return head.model, padded[0], padded[1]


def _summaries(registry: Registry, diffs: list[Any]) -> list[Any]:
    """Summaries of `diffs` (LLM when configured, cached; else the template's)."""
    from modeltrail.bot.assistant.cache import SummaryCache
    from modeltrail.bot.assistant.llm import llm_from_settings
    from modeltrail.bot.assistant.summaries import summarize

    llm = llm_from_settings(load_settings())
    cache = SummaryCache(registry.engine)
    return [summarize(d, llm=llm, cache=cache) for d in diffs]


@app.command()
@click.argument("model")
@click.option(
    "--since", metavar="VERSION", help="Only versions newer than this one (a number or a stage)."
)
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
    from modeltrail.core.registry.compare import changelog as build_changelog
    from modeltrail.templates.render import render

    registry = open_registry() if summary else open_reader()
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
    emit(render(name, fmt, model=model, entries=entries, summaries=summaries), out)
