"""What a question asks, as the parser reads it: an `Intent` (its kind and the fields it uses).

Intent kinds and the fields each uses (every other field stays at its default):

    models       the list of models                                   —
    stage        what is in production / staging / golden             stage, refs (a version
                                                                      to place, optional)
    latest       the newest versions                                  limit
    history      who was in production from when to when              stage
    show         everything about one version                         refs (one)
    diff         what changed between two versions                    refs (0–2), since
    who          who registered / promoted a version, and when        refs (one), action
                                                                      ("register"|"promote"|
                                                                      "any")
    why          why a version was retired / archived / rolled back   refs (one), action
                                                                      ("rollback"|"archive")
    best         the best version by a metric                         metric, order ("best"|
                                                                      "highest"|"lowest")
    used_data    which versions used a dataset digest                 digest
    used_commit  which versions were trained from a commit            commit
    regression   when a metric regressed (each version vs its parent) metric (None: any)
    monitoring   how a version is doing live: drift, decay, alerts     refs (one; default
                 ("is production drifting?", "how is 2.1.5 doing live?")  production)
    change       a request to change the registry (answered with the  action ("promote"|
                 command to run, never carried out)                   "stage"|"rollback"|
                                                                      "golden"|"retire"),
                                                                      refs, reason
    help         what the assistant can answer                        —
    activity     what happened in a period, or what a person did      when (a period; default
                 ("what happened this week", "what did ana promote")   this week), person,
                                                                      action ("register"|
                                                                      "promote"|"any")
    dirty        versions trained from a dirty (uncommitted) tree     —
    package      a package's version in a version, and which version  package, refs (one;
                 changed it                                           default production)
    param        who changed a param, when, and its values over time  param
    rollback     which version a rollback would bring back (the       —
                 previous production and the golden, with metrics)
    metric       a metric's value in a version                        metric, refs (one;
                                                                      default production)

Every kind may carry `when` (a moment or period the question names: `stage` answers for that
moment from the stage history), `unread` (words the parser did not understand and that could
change the answer: the caller must not answer as if they were absent) and `choices` (names one
word could mean: two metrics for "auc"; the caller asks which).

`model` may be set on any kind except models/help/used_data/used_commit (where it narrows the
search when given).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from modeltrail.core.questions.moments import When

KINDS: tuple[str, ...] = (
    "models",
    "stage",
    "latest",
    "history",
    "show",
    "diff",
    "who",
    "why",
    "best",
    "used_data",
    "used_commit",
    "regression",
    "change",
    "help",
    "monitoring",
    "activity",
    "dirty",
    "package",
    "param",
    "rollback",
    "metric",
)
CHANGE_ACTIONS: tuple[str, ...] = ("promote", "stage", "rollback", "golden", "retire")


@dataclass(frozen=True)
class Intent:
    kind: str
    model: str | None = None
    refs: tuple[str, ...] = ()  # version references: "2.1.5", production, staging, golden, …
    stage: str | None = None  # stage / history: production | staging | golden
    metric: str | None = None  # best / regression
    order: str | None = None  # best: best | highest | lowest
    digest: str | None = None  # used_data: a sha256 (or a prefix of one)
    commit: str | None = None  # used_commit: a git SHA (or a prefix of one)
    action: str | None = None  # change: CHANGE_ACTIONS; who: register|promote|any; why: …
    limit: int | None = None  # latest: how many versions
    reason: str | None = None  # change: the "because …" part, when given
    since: bool = False  # diff: "since V" (V against the latest)
    when: When | None = None  # the moment or period the question names
    person: str | None = None  # activity: whose actions
    param: str | None = None  # param: the param key
    package: str | None = None  # package: the distribution name
    focus: str | None = None  # diff: "params" when only the params were asked about
    written: tuple[tuple[str, str], ...] = ()  # (what was written, the name it was read as)
    unread: tuple[str, ...] = ()  # words not understood that could change the answer
    choices: tuple[str, ...] = ()  # names one word could mean: the caller asks which

    def with_model(self, model: str | None) -> Intent:
        return replace(self, model=model)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["when"] = self.when.to_dict() if self.when is not None else None
        return out
