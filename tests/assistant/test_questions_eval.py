"""The question set over the scenario registry, on the deterministic path: at least 300
questions in team wording, at least 97 % answered right and none answered wrong."""

from __future__ import annotations

from evaluation import counts, load_cases, run
from scenario import MODEL, NOW

from modeltrail.core.registry.writer import Registry

CONTEXT = {"default_model": MODEL, "clock": lambda: NOW, "timezone": "UTC"}


def test_the_set_is_large_and_varied() -> None:
    cases = load_cases()
    assert len(cases) >= 300
    assert len({c.question.lower() for c in cases}) == len(cases)
    assert len({c.kind for c in cases}) >= 20


def test_every_question_is_answered_right_and_none_wrong(scenario: Registry) -> None:
    results = run(scenario, CONTEXT, load_cases())
    tally = counts(results)
    report = "\n".join(
        f"{r.grade:15} {r.case.question!r}: {r.why} | {r.said.text.splitlines()[0][:120]}"
        for r in results
        if r.grade != "right"
    )
    assert tally["wrong"] == 0, report
    assert tally["right"] / len(results) >= 0.97, report
