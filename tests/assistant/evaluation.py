"""Running the question set (questions.yaml) on the deterministic path and grading each answer;
shared by tests/assistant/test_questions_eval.py and bench/bench_ask.py.

Grades: `right` — the expected intent and slots, and the answer states the fact (for an `ask`
entry: the reply asks back and names the choices); `partial` — the right intent, but a slot
or the fact differs; `not_understood` — no answer (not understood, or asked back where an
answer was expected); `wrong` — an answer stated as fact for a different question (the
outcome the parser must never produce).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modeltrail.bot.assistant.answers import Answer, AnswerContext, answer
from modeltrail.core.registry.writer import Registry

QUESTIONS = Path(__file__).with_name("questions.yaml")


@dataclass(frozen=True)
class Case:
    question: str
    kind: str
    slots: dict[str, Any]
    fact: str
    ask: bool = False


@dataclass(frozen=True)
class Graded:
    case: Case
    grade: str  # right | partial | not_understood | wrong
    said: Answer
    why: str = ""


def load_cases(path: Path = QUESTIONS) -> list[Case]:
    out = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8")):
        question, kind, slots, fact, *rest = row
        out.append(Case(str(question), kind, dict(slots or {}), str(fact), "ask" in rest))
    return out


def grade(case: Case, said: Answer) -> Graded:
    intent = said.intent
    kind_ok = intent is not None and intent.kind == case.kind
    slots_wrong = [] if intent is None else [
        k for k, v in case.slots.items() if _value(getattr(intent, k, None)) != _value(v)
    ]  # fmt: skip
    fact = case.fact in said.text
    if case.ask:
        if not said.ok and fact:
            return Graded(case, "right", said)
        if said.ok:
            return Graded(case, "wrong", said, "answered instead of asking back")
        return Graded(case, "not_understood", said, "asked back, but not for the choices")
    if not said.ok:
        return Graded(case, "not_understood", said, said.text.splitlines()[0][:160])
    if kind_ok and not slots_wrong and fact:
        return Graded(case, "right", said)
    if kind_ok:
        return Graded(case, "partial", said, f"slots {slots_wrong}, fact {fact}")
    got = intent.kind if intent else None
    return Graded(case, "wrong", said, f"read as {got}")


def _value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_value(v) for v in value)
    return value


def run(registry: Registry, context: dict[str, Any], cases: list[Case]) -> list[Graded]:
    out = []
    for case in cases:
        said = answer(case.question, AnswerContext(registry, **context))
        out.append(grade(case, said))
    return out


def counts(results: list[Graded]) -> Counter[str]:
    return Counter(r.grade for r in results)
