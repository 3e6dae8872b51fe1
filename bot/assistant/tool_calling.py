"""Questions the parser does not understand, answered by an LLM calling read-only tools.

The tools are `core.registry_tools` (the same functions the parser's answers use); their
results go back to the model as JSON, so registry text stays quoted data. The loop is bounded
(a few rounds), and every failure — no LLM, timeout, HTTP error, malformed reply, too many
rounds — returns None, which makes `answer()` fall back to its "not understood" reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from modeltrail.bot.assistant.answers import Answer, AnswerContext, Cited, LLMFallback
from modeltrail.bot.assistant.answers_more import tool_text
from modeltrail.bot.assistant.llm import LLM, LLMUnavailable
from modeltrail.core.config import Settings
from modeltrail.core.registry.tools import TOOL_SPECS, call_tool
from modeltrail.templates.render import render

log = logging.getLogger("modeltrail.assistant")

MAX_ROUNDS = 4
# A reply may ask for many calls at once (one asked for 900): each runs a registry query, so
# only the first few of a round run; the rest are answered "not run" (the API wants every
# call answered) and the model can ask again next round.
MAX_CALLS_PER_ROUND = 8
MAX_RESULT_CHARS = 6000  # per tool result: keeps the conversation within a sane budget


def configured_fallback(settings: Settings) -> LLMFallback | None:
    """The LLM fallback when an LLM is configured, else None (the parser answers alone)."""
    from modeltrail.bot.assistant.llm import llm_from_settings

    llm = llm_from_settings(settings)
    return llm_fallback(llm) if llm is not None else None


def llm_fallback(llm: LLM) -> LLMFallback:
    def ask_llm(question: str, context: AnswerContext) -> Answer | None:
        try:
            return _converse(llm, question, context)
        except LLMUnavailable as exc:
            log.warning("LLM answer unavailable: %s", exc)
            return None

    return ask_llm


def _converse(llm: LLM, question: str, context: AnswerContext) -> Answer | None:
    system = render(
        "prompts/ask_system.j2",
        "prompt",
        slack_command=context.slack_command,
        default_model=context.default_model,
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system.strip()},
        {"role": "user", "content": question},
    ]
    cited: dict[tuple[str, str], None] = {}
    for _ in range(MAX_ROUNDS):
        reply = llm.chat(messages, tools=TOOL_SPECS, max_tokens=600)
        if not reply.tool_calls:
            text = (reply.content or "").strip()
            if not text:
                return None
            versions = tuple(Cited(m, v) for m, v in cited)
            if versions:
                text += "\n\nBased on: " + ", ".join(f"{c.model} {c.version}" for c in versions)
            return Answer(text, "llm", versions=versions)
        messages.append(
            {
                "role": "assistant",
                "content": reply.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in reply.tool_calls
                ],
            }
        )
        for position, call in enumerate(reply.tool_calls):
            if position >= MAX_CALLS_PER_ROUND:
                refusal = {"error": f"not run: at most {MAX_CALLS_PER_ROUND} tool calls a round"}
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(refusal)}
                )
                continue
            result = call_tool(context.tools, call.name, call.arguments)
            text = tool_text(call.name, result)
            if text is not None:
                result = {"answer_text": text, **result}  # what the parser would have said
            for model, version in _versions_in(result):
                cited.setdefault((model, version))
            content = json.dumps(result, ensure_ascii=False, default=str)
            if len(content) > MAX_RESULT_CHARS:
                content = content[:MAX_RESULT_CHARS] + '…"(truncated)"'
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    log.warning("LLM answer gave up after %s tool rounds", MAX_ROUNDS)
    return None


def _versions_in(value: Any, model: str | None = None) -> Iterator[tuple[str, str]]:
    """(model, version) pairs a tool result names, so the answer can cite them."""
    if isinstance(value, dict):
        here = value.get("model") if isinstance(value.get("model"), str) else model
        version = value.get("version")
        if here and isinstance(version, str):
            yield here, version
        for item in value.values():
            if isinstance(item, dict | list):
                yield from _versions_in(item, here)
    elif isinstance(value, list):
        for item in value:
            yield from _versions_in(item, model)
