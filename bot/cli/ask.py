"""`modeltrail ask`: a question about the registry in plain words (never changes it)."""

from __future__ import annotations

from typing import Any

import click

from modeltrail.bot.cli.common import (
    app,
    load_settings,
    open_reader,
    open_registry,
    print_json,
    say,
)


@app.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--model", "-m", metavar="MODEL", help="The model the question is about "
              "(default: the one the question names, or the only model).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The answer, its intent and the versions "
              "it cites, as JSON.")  # fmt: skip
def ask(question: tuple[str, ...], model: str | None, as_json: bool) -> None:
    """Ask about the registry in plain words, e.g. "what is in production?" or "who promoted
    2.1.5?". Requests to change it are answered with the command to run. Exit code 1 when the
    question could not be answered."""
    from modeltrail.bot.assistant.answers import AnswerContext, answer

    settings = load_settings()
    llm = None
    if settings.llm_configured:  # the LLM's modules (and logging) only when one is set up
        from modeltrail.bot.assistant.tool_calling import configured_fallback

        llm = configured_fallback(settings)
    # A local SQLite registry is read with the standard library (a fast start); the full
    # Registry is opened only for the questions that need it, and always for the LLM, whose
    # tools may be any of them.
    source = open_reader() if llm is None else open_registry()
    opened = [source]

    def full() -> Any:
        registry = open_registry()
        opened.append(registry)
        return registry

    try:
        context = AnswerContext(
            source,
            default_model=model,
            llm=llm,
            cli=True,
            timezone=settings.timezone,
            full=None if hasattr(source, "engine") else full,
        )
        said = answer(" ".join(question), context)
    finally:
        for each in opened:
            each.close()
    if as_json:
        print_json(said.to_dict())
    else:
        say(said.text)
    if not said.ok:
        raise SystemExit(1)
