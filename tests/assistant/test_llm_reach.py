"""The LLM path has the parser's reach: every intent is a read-only tool the LLM can call (the
real openai client under respx), the tool result carries the same answer text the parser
gives, answers cite versions, and `--json` lists the tools an answer used."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from scenario import MODEL, NOW

from modeltrail.bot.assistant.answers import AnswerContext, answer
from modeltrail.bot.assistant.llm import LLM
from modeltrail.bot.assistant.tool_calling import llm_fallback
from modeltrail.bot.cli.main import main
from modeltrail.core.config import Settings
from modeltrail.core.registry.tools import TOOL_NAMES
from modeltrail.core.registry.writer import Registry

BASE = "http://llm.test/v1"
# one tool per intent kind the parser answers (change requests are answered with a command)
INTENT_TOOLS = {
    "models": "list_models", "latest": "list_versions", "show": "get_version",
    "stage": "get_stages", "diff": "compare_versions", "history": "stage_history",
    "who": "version_history", "why": "version_history", "best": "best_version",
    "used_data": "versions_using_data", "used_commit": "versions_at_commit",
    "regression": "metric_regressions", "monitoring": "monitoring_status",
    "activity": "activity", "dirty": "dirty_versions", "package": "package_history",
    "param": "param_history", "rollback": "recovery_options", "metric": "metric_value",
}  # fmt: skip


def _llm() -> LLM:
    return LLM(
        Settings(openai_api_key="sk-test", openai_base_url=BASE, llm_max_retries=0, llm_model="m")
    )


def _reply(content: str | None = None, calls: list[tuple[str, dict]] | None = None):
    message: dict = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(calls)
        ]  # fmt: skip
    body = {
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if calls else "stop"}],
    }  # fmt: skip
    return httpx.Response(200, json=body)


def test_every_intent_has_a_tool() -> None:
    from modeltrail.core.questions.intent import KINDS

    assert set(INTENT_TOOLS) == set(KINDS) - {"change", "help"}
    assert set(INTENT_TOOLS.values()) <= set(TOOL_NAMES)


@respx.mock
def test_a_question_the_parser_cannot_read_reaches_the_same_facts(scenario: Registry) -> None:
    parsed = answer(
        "what was serving on December 1st at 7:02?",
        AnswerContext(scenario, default_model=MODEL, clock=lambda: NOW),
    )
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            _reply(
                calls=[
                    ("stage_at", {"model": MODEL, "at": "2026-12-01T07:02:00Z"}),
                    (
                        "activity",
                        {"model": MODEL, "person": "dana", "since": "2026-12-01T00:00:00Z"},
                    ),
                ]
            ),
            _reply("1.2.1 was serving at 07:02 until dana rolled it back at 07:04."),
        ]
    )
    context = AnswerContext(
        scenario, default_model=MODEL, clock=lambda: NOW, llm=llm_fallback(_llm())
    )
    said = answer("what was serving when the pager went off on dec 1 at 7:02?", context)
    assert said.source == "llm" and said.ok
    assert said.tools == ("stage_at", "activity")
    assert ("fraud-detector", "1.2.1") in {(c.model, c.version) for c in said.versions}
    assert "Based on: fraud-detector 1.2.1" in said.text
    first = json.loads(route.calls[0].request.content)
    assert {t["function"]["name"] for t in first["tools"]} == set(TOOL_NAMES)
    results = [m for m in json.loads(route.calls[1].request.content)["messages"]
               if m["role"] == "tool"]  # fmt: skip
    stage_at = json.loads(results[0]["content"])
    assert stage_at["version"] == "1.2.1"
    assert stage_at["answer_text"] == parsed.text  # the same sentence the parser gives
    assert (
        "1.2.1 was rolled back out of production by dana"
        in json.loads(results[1]["content"])["answer_text"]
    )


def test_json_says_which_tools_were_used(
    scenario_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", scenario_url, "ask", "--json", "-m", MODEL, "who changed the lr"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tools"] == ["param_history"]
    assert data["intent"]["kind"] == "param" and data["intent"]["param"] == "model.learning_rate"
    assert {"model": MODEL, "version": "1.2.1"} in data["versions"]


@pytest.mark.parametrize(
    "question",
    ["", "   ", "🙂🙂🙂", "🚀", "x" * 10_000, "what is live " * 800, "\x00\x01", "?" * 50],
    ids=["empty", "blank", "emoji", "rocket", "10k-x", "10k-words", "control", "marks"],
)
def test_bad_input_gets_a_short_reply(
    scenario_url: str, question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--db", scenario_url, "ask", "-m", MODEL, question])
    out = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in out.out + out.err
    assert 0 < len(out.out) < 3000
