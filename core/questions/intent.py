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

`model` may be set on any kind except models/help/used_data/used_commit (where it narrows the
search when given).
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def with_model(self, model: str | None) -> Intent:
        from dataclasses import replace

        return replace(self, model=model)
