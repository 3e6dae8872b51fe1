"""The LLM seam: one small interface over the openai SDK (any OpenAI-compatible server).

`LLM.chat()` is the only call that leaves the process. It raises `LLMUnavailable` for every
way the call can fail — no key, timeout, HTTP error, a reply without the expected content —
so callers fall back to the deterministic path and a report is never missing.

The SDK is handed an `httpx.Client` we build: openai 3 would otherwise send through its own
httpx2 client, but it takes an httpx one as well (openai 2 only takes that). One transport for
both majors, and the one respx intercepts: the tests cross the real client, its retries and its
response parsing, and only the last hop is mocked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.config import Settings

log = logging.getLogger("modeltrail.llm")


class LLMUnavailable(Exception):
    """The model could not give a usable answer; the message says why (never a secret)."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class ChatReply:
    content: str | None
    tool_calls: tuple[ToolCall, ...] = field(default=())
    model: str | None = None


class LLM:
    def __init__(self, settings: Settings, *, http_client: Any = None) -> None:
        import httpx
        import openai

        self.model = settings.llm_model
        self._client = openai.OpenAI(
            api_key=settings.openai_api_key or "not-needed",  # local servers often take none
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            # the SDK's own defaults: its timeout per request, and redirects followed
            http_client=http_client
            or httpx.Client(timeout=settings.llm_timeout, follow_redirects=True),
        )

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int = 500,
    ) -> ChatReply:
        import httpx
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": max_tokens,
        }
        if tools:
            kwargs["tools"] = tools
        try:
            response = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise LLMUnavailable("the LLM did not answer in time") from None
        except openai.APIStatusError as exc:
            raise LLMUnavailable(f"the LLM answered HTTP {exc.status_code}") from None
        except (openai.APIError, httpx.HTTPError) as exc:
            raise LLMUnavailable(f"the LLM could not be reached ({type(exc).__name__})") from None
        except (ValueError, TypeError, KeyError) as exc:  # a body the SDK could not parse
            raise LLMUnavailable(f"the LLM's reply was malformed ({type(exc).__name__})") from None
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMUnavailable("the LLM's reply had no choices")
        message = getattr(choices[0], "message", None)
        if message is None:
            raise LLMUnavailable("the LLM's reply had no message")
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "{}")
            for c in (getattr(message, "tool_calls", None) or ())
            if getattr(c, "function", None) is not None
        )
        content = message.content if isinstance(message.content, str) else None
        if not calls and not (content and content.strip()):
            raise LLMUnavailable("the LLM's reply was empty")
        return ChatReply(content, calls, getattr(response, "model", None))


def llm_from_settings(settings: Settings, *, http_client: Any = None) -> LLM | None:
    """An LLM when one is configured (OPENAI_API_KEY, or OPENAI_BASE_URL for a local
    server), else None: the deterministic path answers."""
    if not settings.llm_configured:
        return None
    from modeltrail.core.extras import require

    require("llm", "the LLM (OPENAI_API_KEY or OPENAI_BASE_URL is set)")
    return LLM(settings, http_client=http_client)
