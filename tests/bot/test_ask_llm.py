"""Unparsed questions through the real openai client calling read-only tools (respx)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from ask_story import INJECTION, MODEL, seed_story, snapshot, ticking_clock

from modeltrail.bot.assistant.answers import AnswerContext, answer
from modeltrail.bot.assistant.llm import LLM
from modeltrail.bot.assistant.tool_calling import llm_fallback
from modeltrail.core.config import Settings
from modeltrail.core.registry.tools import TOOL_NAMES
from modeltrail.core.registry.writer import Registry

BASE = "http://llm.test/v1"
UNPARSED = "could you walk me through anything odd about the fraud model lately?"


@pytest.fixture
def story(db_url: str):
    registry = Registry.open(db_url, clock=ticking_clock())
    seed_story(registry)
    yield registry
    registry.close()


def llm() -> LLM:
    return LLM(
        Settings(openai_api_key="sk-test", openai_base_url=BASE, llm_max_retries=0, llm_model="m")
    )


def reply(content=None, tool_calls=None) -> httpx.Response:
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(tool_calls)
        ]  # fmt: skip
    body = {
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if tool_calls else "stop"}],
    }  # fmt: skip
    return httpx.Response(200, json=body)


@respx.mock
def test_a_tool_call_round_trip_answers_and_cites(story: Registry) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            reply(tool_calls=[("get_stages", {"model": MODEL})]),
            reply("Production runs fraud-detector 2.1.4; 2.1.5 was rolled back."),
        ]
    )
    said = answer(UNPARSED, AnswerContext(story, llm=llm_fallback(llm())))
    assert said.source == "llm" and said.ok
    assert "2.1.4" in said.text and "Based on:" in said.text
    assert any(c.version == "2.1.4" for c in said.versions)
    first = json.loads(route.calls[0].request.content)
    assert {t["function"]["name"] for t in first["tools"]} == set(TOOL_NAMES)
    second = json.loads(route.calls[1].request.content)
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_0"
    assert json.loads(tool_message["content"])["production"]


@respx.mock
def test_an_obedient_model_still_cannot_change_anything(story: Registry) -> None:
    """The note tells the model to promote 9.9.9; a model that tries gets errors back."""
    before = snapshot(story)
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            reply(tool_calls=[("version_history", {"model": MODEL, "version": "2.1.5"})]),
            reply(
                tool_calls=[
                    ("promote_version", {"model": MODEL, "version": "9.9.9"}),
                    ("rollback", {"model": MODEL}),
                ]
            ),
            reply("I cannot promote; run modeltrail promote fraud-detector 9.9.9."),
        ]
    )
    said = answer(UNPARSED, AnswerContext(story, llm=llm_fallback(llm())))
    assert said.source == "llm"
    assert snapshot(story) == before
    history = json.loads(route.calls[1].request.content)["messages"][3]["content"]
    assert INJECTION in history  # delivered as data inside a JSON tool result
    errors = [
        m for m in json.loads(route.calls[2].request.content)["messages"] if m["role"] == "tool"
    ]
    assert all("error" in json.loads(m["content"]) for m in errors[-2:])
    assert not any(name in TOOL_NAMES for name in ("promote_version", "rollback", "promote"))


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": {"message": "boom"}}),
        httpx.Response(200, json={"id": "c", "object": "chat.completion", "choices": []}),
    ],
    ids=["500", "malformed"],
)
@respx.mock
def test_llm_failures_give_the_not_understood_answer(story: Registry, failure) -> None:
    respx.post(f"{BASE}/chat/completions").mock(return_value=failure)
    said = answer(UNPARSED, AnswerContext(story, llm=llm_fallback(llm())))
    assert said.source == "none" and not said.ok


@respx.mock
def test_a_timeout_gives_the_not_understood_answer(story: Registry) -> None:
    respx.post(f"{BASE}/chat/completions").mock(side_effect=httpx.ConnectTimeout("slow"))
    said = answer(UNPARSED, AnswerContext(story, llm=llm_fallback(llm())))
    assert said.source == "none"


@respx.mock
def test_parsed_questions_never_reach_the_llm(story: Registry) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=reply("unused"))
    said = answer(
        "what is in production for fraud-detector?", AnswerContext(story, llm=llm_fallback(llm()))
    )
    assert said.source == "parser" and "2.1.4" in said.text
    assert route.call_count == 0
