"""Plain-words summaries of a diff: from the LLM when one is configured, from a template
otherwise — and whenever the LLM fails. Never a traceback, never a missing summary.

LLM summaries are cached by the diff's digest, the prompt version and the model name, so a
report is never paid for twice (the cache lives in the registry database, shared by every
process).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from modeltrail.bot.assistant.llm import LLM, LLMUnavailable
from modeltrail.bot.assistant.prompt import compact_diff, data_block
from modeltrail.core.diff.causes import rank_causes
from modeltrail.core.diff.engine import VersionDiff
from modeltrail.templates.render import render

log = logging.getLogger("modeltrail.summaries")

PROMPT_VERSION = "summary-1"
MAX_SUMMARY_CHARS = 1500
TEMPLATE_MARK = "Automatic summary (no LLM): "


class SummaryStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str, *, model: str | None) -> None: ...


@dataclass(frozen=True)
class Summary:
    text: str
    source: Literal["llm", "template"]
    cached: bool = False
    reason: str | None = None  # why the template was used, when it was

    @property
    def marked(self) -> str:
        """The text as shown to people: template summaries say they are automatic."""
        return self.text if self.source == "llm" else TEMPLATE_MARK + self.text


def template_summary(diff: VersionDiff, reason: str | None = None) -> Summary:
    text = render("summary.txt.j2", "text", diff=diff, causes=rank_causes(diff))
    return Summary(" ".join(text.split()), "template", reason=reason)


def prompt_messages(diff: VersionDiff) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": render("prompts/summary_system.j2", "prompt").strip()},
        {
            "role": "user",
            "content": render(
                "prompts/summary_user.j2", "prompt", compact=data_block(compact_diff(diff))
            ),
        },
    ]


def cache_key(diff: VersionDiff, model: str) -> str:
    return hashlib.sha256(f"{PROMPT_VERSION}\0{model}\0{diff.digest()}".encode()).hexdigest()


def summarize(
    diff: VersionDiff, *, llm: LLM | None = None, cache: SummaryStore | None = None
) -> Summary:
    if llm is None:
        return template_summary(diff, "no LLM configured")
    key = cache_key(diff, llm.model)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return Summary(hit, "llm", cached=True)
    try:
        reply = llm.chat(prompt_messages(diff), max_tokens=400)
    except LLMUnavailable as exc:
        log.warning("LLM summary unavailable, using the template: %s", exc)
        return template_summary(diff, str(exc))
    text = " ".join((reply.content or "").split())
    if not text or reply.tool_calls:
        return template_summary(diff, "the LLM's reply was not a summary")
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    if cache is not None:
        cache.put(key, text, model=reply.model or llm.model)
    return Summary(text, "llm")


DIGEST_PROMPT_VERSION = "digest-1"
DIGEST_REPORT_CHARS = 6000  # the week's report inside the ~2,000-token prompt budget


def digest_summarizer(settings: Any, registry: Any) -> Any:
    """The LLM's summary of a digest's week (found by bot/digest_jobs), cached like diff
    summaries; None when no LLM is configured. Failures return None, and the digest then
    carries its automatic summary."""
    from modeltrail.bot.assistant.cache import SummaryCache
    from modeltrail.bot.assistant.llm import llm_from_settings

    llm = llm_from_settings(settings)
    if llm is None:
        return None
    cache = SummaryCache(registry.engine)

    def summarize_week(digest: Any) -> str | None:
        report = render(
            "digest.txt.j2",
            "text",
            digest=digest,
            summary="",
            summary_source="template",
            charts={},
            links={},  # the LLM is told what happened, not where the pages are
            at=lambda moment: moment.strftime("%Y-%m-%d %H:%M UTC"),
        )
        report = report[:DIGEST_REPORT_CHARS]
        key = hashlib.sha256(f"{DIGEST_PROMPT_VERSION}\0{llm.model}\0{report}".encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            return hit
        messages = [
            {"role": "system", "content": render("prompts/digest_system.j2", "prompt").strip()},
            {
                "role": "user",
                "content": render("prompts/digest_user.j2", "prompt", report=data_block(report)),
            },
        ]
        try:
            reply = llm.chat(messages, max_tokens=350)
        except LLMUnavailable as exc:
            log.warning("LLM digest summary unavailable: %s", exc)
            return None
        text = " ".join((reply.content or "").split())
        if not text or reply.tool_calls:
            return None
        text = text[:MAX_SUMMARY_CHARS]
        cache.put(key, text, model=reply.model or llm.model)
        return text

    return summarize_week
