"""The week's summary from the LLM (real openai client, respx), with the automatic fallback."""

from __future__ import annotations

import json

import httpx
import respx
from digest_seed import RUN_AT, make_seeded

from modeltrail.bot.assistant.summaries import digest_summarizer
from modeltrail.bot.digest_jobs import manual_window, render_digest
from modeltrail.core.config import Settings
from modeltrail.core.digest.period import load_digest
from modeltrail.core.registry.writer import Registry

BASE = "http://llm.test/v1"


def llm_settings() -> Settings:
    return Settings(openai_api_key="sk-test", openai_base_url=BASE, llm_max_retries=0,
                    llm_model="m")  # fmt: skip


def completion(text: str) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
    })  # fmt: skip


@respx.mock
def test_the_week_is_summarised_by_the_llm_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    make_seeded(url)
    route = respx.post(f"{BASE}/chat/completions").mock(
        return_value=completion("fraud moved to 2.1.0 after a regression was rolled back.")
    )
    with Registry.open(url) as registry:
        digest = load_digest(registry, manual_window(Settings(), days=7, now=RUN_AT), now=RUN_AT)
        summarize = digest_summarizer(llm_settings(), registry)
        first = render_digest(digest, summarize=summarize, charts=False)
        second = render_digest(digest, summarize=summarize, charts=False)
    assert first.summary_source == "llm"
    assert first.summary.startswith("fraud moved to 2.1.0")
    assert second.summary == first.summary and route.call_count == 1  # cached
    sent = json.loads(route.calls[0].request.content)["messages"]
    assert "<registry_data>" in sent[1]["content"] and "fraud" in sent[1]["content"]
    assert len(sent[0]["content"]) + len(sent[1]["content"]) <= 2000 * 4


@respx.mock
def test_an_llm_failure_keeps_the_automatic_summary(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    make_seeded(url)
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(500, json={}))
    with Registry.open(url) as registry:
        digest = load_digest(registry, manual_window(Settings(), days=7, now=RUN_AT), now=RUN_AT)
        rendered = render_digest(
            digest, summarize=digest_summarizer(llm_settings(), registry), charts=False
        )
    assert rendered.summary_source == "template"
    assert "Automatic summary (no LLM)" in rendered.text


def test_no_llm_no_summarizer(registry) -> None:
    assert digest_summarizer(Settings(), registry) is None
