"""The question parser: many phrasings → the expected intent (pure), and → the expected answer
from a registry with a story (one shared SQLite registry: answering never writes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ask_story import DATA_A, DATA_B, INJECTION, MODEL, OTHER, seed_story, snapshot, ticking_clock

from modeltrail.bot.assistant.answers import AnswerContext, answer
from modeltrail.core.questions.intent import KINDS, Intent
from modeltrail.core.questions.names import Known
from modeltrail.core.questions.parser import parse
from modeltrail.core.registry.writer import Registry

MODELS = (MODEL, OTHER)
METRICS = ("auc", "val_loss", "f1")
KNOWN = Known(
    models=MODELS,
    metrics=METRICS,
    people=("ana", "ben", "cho", "dana", "erin"),
    params=("optimizer.lr", "epochs"),
    packages=("numpy",),
)

# question, expected intent fields, texts the answer must contain
CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    # what is in production / golden / staging
    ("what is in production for fraud-detector?",
     {"kind": "stage", "stage": "production", "model": MODEL},
     ("fraud-detector in production: 2.1.4", "Golden (the baseline): 2.1.3", "Latest: 2.1.6")),
    ("which version of fraud-detector is live", {"kind": "stage", "stage": "production"},
     ("in production: 2.1.4",)),
    ("fraud-detector: what's deployed right now?", {"kind": "stage", "stage": "production"},
     ("in production: 2.1.4",)),
    ("what's the golden version of fraud-detector", {"kind": "stage", "stage": "golden"},
     ("golden version (the baseline) is 2.1.3, set by erin", "“stable baseline”")),
    ("What is the baseline for fraud-detector?", {"kind": "stage", "stage": "golden"},
     ("is 2.1.3",)),
    ("what's in staging for fraud-detector", {"kind": "stage", "stage": "staging"},
     ("fraud-detector in staging: 2.1.6", "In production: 2.1.4")),
    ("is 2.1.5 in production for fraud-detector?",
     {"kind": "stage", "stage": "production", "refs": ("2.1.5",)},
     ("No: 2.1.5 is archived.",)),
    ("is fraud-detector v2.1.4 live?", {"kind": "stage", "refs": ("2.1.4",)},
     ("Yes: 2.1.4 is in production.",)),
    # models
    ("list the models", {"kind": "models", "model": None},
     ("2 models in the registry", "• churn: 1 version", "• fraud-detector: 5 versions")),
    ("which models do we have?", {"kind": "models"}, ("production 2.1.4, golden 2.1.3",)),
    ("what models are registered", {"kind": "models"}, ("churn",)),
    # latest versions
    ("what's the latest version of fraud-detector", {"kind": "latest", "limit": 1},
     ("The latest version of fraud-detector is 2.1.6 (in staging)", "by cho")),
    ("show the last 3 versions of fraud-detector", {"kind": "latest", "limit": 3},
     ("fraud-detector has 5 versions; the newest 3:", "• 2.1.6 (staging)", "• 2.1.4 (production)")),
    ("list versions of churn", {"kind": "latest", "model": OTHER, "limit": None},
     ("churn has 1 version:", "• 1.0.0")),
    ("recent fraud-detector versions", {"kind": "latest"}, ("• 2.0.9 (archived)",)),
    # production history
    ("production history of fraud-detector", {"kind": "history", "stage": "production"},
     ("who was in production, newest first", "• 2.1.4:", "→ now, in by dana",
      "out by dana (“auc dropped on live traffic”)")),
    ("who was in production before 2.1.5 for fraud-detector", {"kind": "history"},
     ("• 2.1.3:", "out by ben (“superseded by 2.1.4”)")),
    ("show me the fraud-detector timeline", {"kind": "history"}, ("Golden: 2.1.3.",)),
    # diffs
    ("diff fraud-detector 2.1.4 2.1.5", {"kind": "diff", "refs": ("2.1.4", "2.1.5")},
     ("fraud-detector 2.1.5 vs 2.1.4:", "auc 0.912 → 0.897",
      "`modeltrail diff fraud-detector 2.1.4 2.1.5`")),
    ("what changed between 2.1.5 and 2.1.4 in fraud-detector?",
     {"kind": "diff", "refs": ("2.1.5", "2.1.4")},
     ("fraud-detector 2.1.5 vs 2.1.4:", "optimizer.lr 0.01 → 0.02")),
    ("compare production and golden for fraud-detector",
     {"kind": "diff", "refs": ("production", "golden")}, ("fraud-detector 2.1.4 vs 2.1.3:",)),
    ("how does fraud-detector v2.1.6 differ from v2.1.5?",
     {"kind": "diff", "refs": ("2.1.6", "2.1.5")}, ("2.1.6 vs 2.1.5", "auc 0.897 → 0.921")),
    ("what's new in the latest fraud-detector version", {"kind": "diff", "refs": ("latest",)},
     ("2.1.6 vs 2.1.5",)),
    ("what changed in fraud-detector since 2.1.4?",
     {"kind": "diff", "refs": ("2.1.4",), "since": True}, ("2.1.6 vs 2.1.4",)),
    ("what changed in 2.1.5 of fraud-detector", {"kind": "diff", "refs": ("2.1.5",)},
     ("2.1.5 vs 2.1.4", "data changed: train")),
    ("fraud-detector production vs latest", {"kind": "diff", "refs": ("production", "latest")},
     ("2.1.6 vs 2.1.4",)),
    # who and when
    ("who promoted 2.1.5 in fraud-detector?",
     {"kind": "who", "refs": ("2.1.5",), "action": "promote"},
     ("2.1.5 was promoted to production by ben", "(“fresh data”)",
      "rolled back out of production by dana")),
    ("when was fraud-detector 2.1.4 promoted", {"kind": "who", "action": "promote"},
     ("2.1.4 was promoted to production by ben on 2026-11-20", "“shadow test passed”")),
    ("who registered fraud-detector 2.1.6", {"kind": "who", "action": "register"},
     ("fraud-detector 2.1.6 was registered by cho on 2026-11-20", "moved to staging by cho")),
    ("who trained the latest fraud-detector version and when?",
     {"kind": "who", "refs": ("latest",), "action": "register"}, ("2.1.6 was registered by cho",)),
    ("who put the production version of fraud-detector there?",
     {"kind": "who", "refs": ("production",), "action": "promote"},
     ("2.1.4 was brought back to production by a rollback by dana",)),
    # why
    ("why was 2.0.9 of fraud-detector retired?", {"kind": "why", "refs": ("2.0.9",)},
     ("2.0.9 was retired (archived) by erin", "“fairness issue on segment X”")),
    ("why was fraud-detector 2.1.3 archived", {"kind": "why", "refs": ("2.1.3",)},
     ("archived when another version was promoted by ben", "“superseded by 2.1.4”")),
    ("why did we roll back fraud-detector?", {"kind": "why", "refs": (), "action": "rollback"},
     ("2.1.5 was rolled back out of production by dana", "“auc dropped on live traffic”")),
    ("what happened to fraud-detector 2.1.5", {"kind": "why", "refs": ("2.1.5",)},
     ("rolled back out of production",)),
    # best by a metric
    ("which fraud-detector version has the best auc?",
     {"kind": "best", "metric": "auc", "order": "best"},
     ("Best fraud-detector version by auc (higher is better): 2.1.6 with 0.921",
      "Next: 2.1.4 0.912")),
    ("best version of fraud-detector by val_loss", {"kind": "best", "metric": "val_loss"},
     ("(lower is better): 2.1.6 with 0.29",)),
    ("highest auc in fraud-detector", {"kind": "best", "order": "highest"}, ("2.1.6 with 0.921",)),
    ("which fraud-detector version had the lowest val_loss",
     {"kind": "best", "metric": "val_loss", "order": "lowest"}, ("2.1.6 with 0.29",)),
    ("top churn version by f1", {"kind": "best", "metric": "f1", "model": OTHER},
     ("1.0.0 with 0.7",)),
    # regressions
    ("when did auc regress in fraud-detector?", {"kind": "regression", "metric": "auc"},
     ("auc regressed in fraud-detector 1 time", "• 2.1.5 vs 2.1.4: auc 0.912 → 0.897 (-1.6%)")),
    ("did val_loss get worse in fraud-detector", {"kind": "regression", "metric": "val_loss"},
     ("• 2.1.5 vs 2.1.4: val_loss 0.3 → 0.32",)),
    ("which fraud-detector version made auc worse", {"kind": "regression", "metric": "auc"},
     ("The latest: 2.1.5.",)),
    ("any regressions in fraud-detector?", {"kind": "regression", "metric": None},
     ("Metrics regressed in fraud-detector 2 times",)),
    # monitoring (nothing observed in the story registry)
    ("is production drifting for fraud-detector?", {"kind": "monitoring", "refs": ("production",)},
     ("No production observations for fraud-detector 2.1.4 (production)",)),
    ("how is fraud-detector 2.1.5 doing live?", {"kind": "monitoring", "refs": ("2.1.5",)},
     ("fraud-detector 2.1.5 (archived)", "modeltrail monitor log fraud-detector")),
    # data and commits
    (f"which versions used dataset {DATA_A[:12]}?", {"kind": "used_data", "digest": DATA_A[:12]},
     ("3 versions used data with digest", "• fraud-detector 2.1.4", "• fraud-detector 2.0.9")),
    (f"what was trained on data {DATA_B}", {"kind": "used_data", "digest": DATA_B},
     ("2 versions", "fraud-detector 2.1.6 (in staging): train data/train.csv")),
    ("which versions were trained from commit 3333cccc", {"kind": "used_commit"},
     ("2 versions were trained from commit `3333cccc`", "fraud-detector 2.1.5 (archived)")),
    ("which versions used git sha 2222bbbb2222?", {"kind": "used_commit", "commit": "2222bbbb2222"},
     ("1 version was trained from commit", "fraud-detector 2.1.4 (in production)")),
    # requests to change things: the command, never the change
    ("promote fraud-detector 2.1.6", {"kind": "change", "action": "promote", "refs": ("2.1.6",)},
     ("I never change the registry myself", "archives 2.1.4",
      '`modeltrail promote fraud-detector 2.1.6 --reason "WHY"`',
      "`/model promote fraud-detector 2.1.6 REASON`")),
    ("please promote 2.1.6 of fraud-detector because the shadow test passed",
     {"kind": "change", "action": "promote", "reason": "the shadow test passed"},
     ("--reason 'the shadow test passed'", "/model promote fraud-detector 2.1.6 the shadow")),
    ("can you roll back fraud-detector?", {"kind": "change", "action": "rollback"},
     ("archives 2.1.4 and brings back 2.1.3", '`modeltrail rollback fraud-detector --reason "WHY"`',
      "`/model rollback fraud-detector REASON`")),
    ("make 2.1.4 the golden version of fraud-detector",
     {"kind": "change", "action": "golden", "refs": ("2.1.4",)},
     ("`modeltrail golden fraud-detector 2.1.4`", "`/model golden fraud-detector 2.1.4`")),
    ("retire fraud-detector 2.1.5 because it leaks labels",
     {"kind": "change", "action": "retire", "reason": "it leaks labels"},
     ("already archived",)),
    ("retire fraud-detector 2.1.6 because it leaks labels", {"kind": "change", "action": "retire"},
     ("`modeltrail retire fraud-detector 2.1.6 --reason 'it leaks labels'`",)),
    ("how do I move fraud-detector 2.1.5 to staging?", {"kind": "change", "action": "stage"},
     ("`modeltrail promote fraud-detector 2.1.5 --to staging --reason \"WHY\"`",)),
    ("deploy the latest fraud-detector",
     {"kind": "change", "action": "promote", "refs": ("latest",)},
     ("modeltrail promote fraud-detector 2.1.6",)),
    # one version, everything
    ("show fraud-detector 2.1.5", {"kind": "show", "refs": ("2.1.5",)},
     ("fraud-detector 2.1.5 (archived), registered", "Notes:", f"• “{INJECTION}” (mallory,")),
    ("tell me about fraud-detector v2.1.4", {"kind": "show", "refs": ("2.1.4",)},
     ("2.1.4 (in production), registered", "auc 0.912", "Code: `2222bbb` on main")),
    # beyond one version: people, packages, params, rollback, a metric's value, dirty trees
    ("what did ben promote", {"kind": "activity", "person": "ben", "action": "promote"},
     ("What ben promoted or moved (all time)", "fraud-detector 2.1.4 was promoted to production")),
    ("any fraud-detector versions trained from a dirty tree?", {"kind": "dirty"},
     ("No version of fraud-detector was trained from a tree with uncommitted changes",)),
    ("which numpy version does fraud-detector production use",
     {"kind": "package", "package": "numpy"},
     ("fraud-detector 2.1.4 (in production) was trained with numpy 2.1.0",
      "no version changed it")),
    ("who changed the lr in fraud-detector", {"kind": "param", "param": "optimizer.lr"},
     ("• 2.1.5: 0.01 → 0.02 (from 2.1.4), registered", "by ben", "• 2.1.6: 0.02 → 0.01")),
    ("which version would a rollback of fraud-detector bring back", {"kind": "rollback"},
     ("A rollback would bring back 2.1.3, the previous production (auc 0.905",)),
    ("what's the auc of the production fraud-detector", {"kind": "metric", "metric": "auc"},
     ("auc of fraud-detector 2.1.4 (in production): 0.912",)),
    # help
    ("help", {"kind": "help"}, ("Ask me about the registry in plain words",)),
    ("what can you do?", {"kind": "help"}, ("I never change the registry",)),
]  # fmt: skip


def _id(case: tuple[str, dict[str, Any], tuple[str, ...]]) -> str:
    return case[0][:50]


@pytest.mark.parametrize(("question", "expected", "says"), CASES, ids=[_id(c) for c in CASES])
def test_parse(question: str, expected: dict[str, Any], says: tuple[str, ...]) -> None:
    intent = parse(question, known=KNOWN)
    assert intent is not None, question
    assert intent.kind in KINDS
    for field, value in expected.items():
        assert getattr(intent, field) == value, (question, field, intent)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    path: Path = tmp_path_factory.mktemp("story") / "registry.db"
    registry = Registry.open(f"sqlite:///{path}", clock=ticking_clock())
    seed_story(registry)
    before = snapshot(registry)
    yield registry
    assert snapshot(registry) == before, "answering questions changed the registry"
    registry.close()


@pytest.mark.parametrize(("question", "expected", "says"), CASES, ids=[_id(c) for c in CASES])
def test_answer(
    story: Registry, question: str, expected: dict[str, Any], says: tuple[str, ...]
) -> None:
    said = answer(question, AnswerContext(story))
    assert said.source == "parser"
    assert said.intent is not None and said.intent.kind == expected["kind"]
    for text in says:
        assert text in said.text, f"{question!r}: {text!r} not in:\n{said.text}"
    assert "Traceback" not in said.text


def test_at_least_forty_phrasings_cover_every_kind() -> None:
    assert len(CASES) >= 40
    assert {c[1]["kind"] for c in CASES} == set(KINDS)


@pytest.mark.parametrize(
    "question",
    ["", "   ", "what is the weather in Paris?", "who are you", "tell me a joke",
     "who can promote versions?", "should we hire more people"],
)  # fmt: skip
def test_questions_the_parser_leaves_alone(question: str) -> None:
    assert parse(question, models=MODELS, metrics=METRICS) is None


def test_versions_and_names_normalise() -> None:
    intent = parse("diff v2.1.4 prod", models=MODELS)
    assert intent == Intent("diff", refs=("2.1.4", "production"))
    assert parse("compare newest with baseline").refs == ("latest", "golden")  # type: ignore[union-attr]
    assert parse("what changed between previous and latest").refs == ("previous", "latest")  # type: ignore[union-attr]


def test_a_model_name_is_matched_whole() -> None:
    intent = parse("what is in production for fraud-detector-v2", models=("fraud-detector",))
    assert intent is not None and intent.model is None
    intent = parse("what is in production for Fraud-Detector", models=("fraud-detector",))
    assert intent is not None and intent.model == "fraud-detector"


def test_metric_is_read_without_a_vocabulary() -> None:
    assert parse("when did roc_auc regress").metric == "roc_auc"  # type: ignore[union-attr]
    assert parse("best version by f1_macro").metric == "f1_macro"  # type: ignore[union-attr]
    assert parse("which version has the lowest p95_latency").order == "lowest"  # type: ignore[union-attr]


def test_without_a_model_it_asks_which(story: Registry) -> None:
    said = answer("what is in production?", AnswerContext(story))
    assert not said.ok and said.source == "parser"
    assert "Which model do you mean? churn, fraud-detector." in said.text
    assert "“what is in production for churn?”" in said.text


def test_a_default_model_fills_in(story: Registry) -> None:
    said = answer("what's live?", AnswerContext(story, default_model=MODEL))
    assert said.ok and "fraud-detector in production: 2.1.4" in said.text
    assert [(c.model, c.version) for c in said.versions] == [(MODEL, "2.1.4")]


def test_unknown_versions_and_models_are_answers_not_errors(story: Registry) -> None:
    said = answer("show fraud-detector 9.9.9", AnswerContext(story))
    assert not said.ok and "model 'fraud-detector' has no version 9.9.9" in said.text
    said = answer("what's live?", AnswerContext(story, default_model="nope"))
    assert not said.ok and "no model named 'nope'" in said.text
    said = answer("best fraud-detector version by precision", AnswerContext(story))
    assert not said.ok and "has no metric 'precision'" in said.text
    assert "its metrics: auc, val_loss" in said.text


def test_answers_cite_the_versions_they_use(story: Registry) -> None:
    said = answer("diff fraud-detector 2.1.4 2.1.5", AnswerContext(story))
    assert {(c.model, c.version) for c in said.versions} == {(MODEL, "2.1.4"), (MODEL, "2.1.5")}
    said = answer(f"which versions used dataset {DATA_B[:8]}", AnswerContext(story))
    assert {c.version for c in said.versions} == {"2.1.5", "2.1.6"}


def test_the_injected_note_is_quoted_data(story: Registry) -> None:
    said = answer("show fraud-detector 2.1.5", AnswerContext(story))
    assert f"“{INJECTION}”" in said.text
    # the note names a version to promote; the assistant neither does it nor offers it
    assert "modeltrail promote" not in said.text


def test_a_promotion_request_reports_the_gate(story: Registry) -> None:
    from modeltrail.core.lifecycle.rules import GateRules

    # the story's rules allow regressions; with the default rules 2.1.5 would be blocked
    assert story.gate_rules(MODEL) == GateRules(
        allow_kinds=("missing_lineage", "metric_regression")
    )
    said = answer("promote fraud-detector 2.1.5", AnswerContext(story))
    assert "modeltrail promote fraud-detector 2.1.5" in said.text
    assert "gate would block" not in said.text
