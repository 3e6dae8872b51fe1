"""Never confidently wrong: a question with a detail the parser does not understand (a time,
a person, a metric, a stage, a model, a version) is never answered as if the detail were not
there. The reply names the detail (asking back or saying what could not be read), and with an
LLM configured the question goes to the LLM instead."""

from __future__ import annotations

import re

from scenario import MODEL, NOW

from modeltrail.bot.assistant.answers import Answer, AnswerContext, answer
from modeltrail.core.registry.writer import Registry

PEOPLE = ("zoe", "xavier", "priya", "mohammed", "li", "kowalski")
PERSON_QUESTIONS = (
    "what did {} register",
    "what has {} promoted since monday",
    "did {} roll anything back last week",
    "show me what {} did in november",
)
TIMES = (
    "on the 3rd", "before the outage", "at quarter past seven", "tomorrow", "during the incident",
    "on feb 30", "in q3", "last sprint", "on 12/01", "since the offsite", "at 25:00",
    "the night before", "this weekend", "around lunchtime", "after the freeze", "on boxing day",
    "two fortnights ago", "at 7ish", "on release day", "next week",
)  # fmt: skip
TIME_QUESTIONS = ("what was live {}", "what happened {}")
METRICS = ("f2 score", "brier", "mape", "ndcg", "calibration", "auprc-lift", "gini", "ks stat")
METRIC_QUESTIONS = ("what's the {} of prod", "best version by {}", "when did {} regress")
STAGES = ("canary", "shadow", "preprod", "the eu cluster", "blue-green", "qa")
STAGE_QUESTIONS = ("what's in {}", "which version is deployed to {}")
MODELS = ("payments-model", "ranker", "recommender", "fraud-detector-v2", "churn-v9")
MODEL_QUESTIONS = ("what's live for {}", "latest version of {}")
VERSIONS = ("9.9.9", "v7", "1.2", "1.4.0-rc1")
VERSION_QUESTIONS = ("show {}", "who promoted {}")

CASES: list[tuple[str, str]] = (
    [(q.format(p), p) for p in PEOPLE for q in PERSON_QUESTIONS]
    + [(q.format(t), t) for t in TIMES for q in TIME_QUESTIONS]
    + [(q.format(m), m) for m in METRICS for q in METRIC_QUESTIONS]
    + [(q.format(s), s) for s in STAGES for q in STAGE_QUESTIONS]
    + [(q.format(m), m) for m in MODELS for q in MODEL_QUESTIONS]
    + [(q.format(v), v.removeprefix("v")) for v in VERSIONS for q in VERSION_QUESTIONS]
)


def test_there_are_at_least_a_hundred() -> None:
    assert len(CASES) >= 100
    assert len({q for q, _ in CASES}) == len(CASES)


def test_no_question_is_answered_as_if_the_detail_were_absent(scenario: Registry) -> None:
    context = AnswerContext(scenario, default_model=MODEL, clock=lambda: NOW)
    answered = []
    for question, detail in CASES:
        said = answer(question, context)
        if said.ok or not _named(detail, said.text):
            answered.append(f"{question!r} ({detail}): {said.text.splitlines()[0][:140]}")
    assert not answered, "\n".join(answered)


def _named(detail: str, reply: str) -> bool:
    """The reply names the detail: one of its own words (not "on", "the", "at" …)."""
    glue = {"on", "the", "at", "in", "last", "next", "this", "since", "before", "after",
            "during", "around", "two", "day"}  # fmt: skip
    words = [w for w in re.split(r"[\s-]+", detail.lower()) if w not in glue]
    return any(w in reply.lower() for w in words)


def test_with_an_llm_the_question_goes_to_the_llm(scenario: Registry) -> None:
    asked: list[str] = []

    def llm(question: str, context: AnswerContext) -> Answer | None:
        asked.append(question)
        return Answer("the LLM's answer", "llm")

    context = AnswerContext(scenario, default_model=MODEL, clock=lambda: NOW, llm=llm)
    for question, _ in CASES[::10]:
        said = answer(question, context)
        assert said.source == "llm", question
    assert asked == [q for q, _ in CASES[::10]]
    assert answer("what's live", context).source == "parser"  # a question read whole
