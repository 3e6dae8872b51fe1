"""Finding the registry's own names in a question, the way people write them (pure).

People do not type `log_loss` or `optimizer.learning_rate`: they write "log loss", "LogLoss",
"learning rate", "AUC" for `roc_auc`, "sklearn" for `scikit-learn`. A name matches when its
words match with any of `_`, `-`, `.`, a space or nothing between them, in any case; a
metric's or param's distinctive last word also matches alone, and a few common abbreviations
stand for the words they shorten. When one word matches two names, both come back, so the
caller asks which one was meant instead of choosing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Abbreviation -> the words it stands for (both directions are tried).
ALIASES: dict[str, tuple[str, ...]] = {
    "acc": ("accuracy",),
    "accurate": ("accuracy",),
    "accuracy": ("acc",),
    "lr": ("learning rate", "learning_rate"),
    "learning rate": ("lr", "eta"),
    "auc": ("roc auc", "auroc", "roc_auc", "pr auc"),
    "auroc": ("roc auc", "auc"),
    "ll": ("log loss",),
    "logloss": ("log loss",),
    "log loss": ("logloss", "ll"),
    "cross entropy": ("log loss",),
    "prec": ("precision",),
    "precision": ("prec",),
    "rec": ("recall",),
    "f1": ("f1 score", "f1 macro", "f1 micro", "f1 weighted"),
    "f1 score": ("f1",),
    "depth": ("max depth", "max_depth"),
    "tree depth": ("max depth",),
    "trees": ("n estimators", "num trees", "n trees"),
    "number of trees": ("n estimators",),
    "estimators": ("n estimators",),
    "batch": ("batch size",),
    "dropout": ("dropout rate",),
    "epochs": ("num epochs", "n epochs"),
    "regularization": ("alpha", "lambda", "l2"),
    "latency": ("p95 latency", "p99 latency", "latency ms"),
    "error": ("error rate",),
    "sklearn": ("scikit learn",),
    "scikit": ("scikit learn",),
    "scikitlearn": ("scikit learn",),
    "pytorch": ("torch",),
    "torch": ("pytorch",),
    "tf": ("tensorflow",),
    "xgb": ("xgboost",),
    "lgbm": ("lightgbm",),
    "lightgbm": ("lgbm",),
    "pd": ("pandas",),
    "np": ("numpy",),
}
# Last words too common to stand for a name on their own ("what time", "best score").
WEAK_PARTS = frozenset(
    {
        "val",
        "valid",
        "train",
        "test",
        "score",
        "time",
        "rate",
        "mean",
        "avg",
        "macro",
        "micro",
        "weighted",
        "size",
        "max",
        "min",
        "n",
        "num",
        "ms",
        "total",
        "count",
        "top",
        "at",
        "k",
        "dev",
        "eval",
        "loss",
        "error",
        "value",
        "roc",
        "pr",
        "log",
        "ratio",
        "lr_schedule",
    }
)


@dataclass(frozen=True)
class Found:
    names: tuple[str, ...]  # one name, or the names one word could mean
    span: tuple[int, int]  # where in the text
    written: str  # the words as written

    @property
    def name(self) -> str | None:
        return self.names[0] if len(self.names) == 1 else None


def words_of(name: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-./:@]+", name.lower()) if w]


def _phrase(words: Sequence[str]) -> str:
    return r"[\s_\-./]?".join(re.escape(w) for w in words)


def _bounded(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + pattern + r"(?![\w])")


def find_names(
    text: str, names: Iterable[str], *, parts: bool = True, last_part: bool = False
) -> list[Found]:
    """Every place a name of `names` is written in `text` (lower case), longest first, with no
    two overlapping. `parts`: a distinctive word of a name matches it alone; `last_part`: only
    the last word may (dotted param keys: "lr" for `optimizer.lr`)."""
    names = list(dict.fromkeys(names))
    candidates: list[tuple[int, int, int, str]] = []  # (start, -length, rank, name)
    for name in names:
        spelled = words_of(name)
        if not spelled:
            continue
        forms = {_phrase(spelled)}
        joined = " ".join(spelled)
        for alias in (*ALIASES.get(joined, ()), *_reverse_aliases(joined)):
            forms.add(_phrase(words_of(alias)))
        if last_part and "." in name:
            segment = words_of(name.rsplit(".", 1)[1])
            seg_joined = " ".join(segment)
            if segment and seg_joined not in WEAK_PARTS:
                forms.add(_phrase(segment))
                for alias in (*ALIASES.get(seg_joined, ()), *_reverse_aliases(seg_joined)):
                    forms.add(_phrase(words_of(alias)))
        for form in forms:
            for m in _bounded(form).finditer(text):
                candidates.append((m.start(), -(m.end() - m.start()), 0, name))
        if parts:
            pool = spelled[-1:] if last_part else spelled
            for part in pool:
                if len(part) < 2 or part in WEAK_PARTS or part.isdigit():
                    continue
                for form in {part, *ALIASES.get(part, ())} | _reverse_aliases(part):
                    for m in _bounded(_phrase(words_of(form))).finditer(text):
                        candidates.append((m.start(), -(m.end() - m.start()), 1, name))
    candidates.sort()
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    for start, neg, rank, _ in candidates:
        end = start - neg
        if any(s < end and start < e for s, e in taken):
            continue
        same = [c for c in candidates if c[0] == start and c[1] == neg]
        best_rank = min(c[2] for c in same)
        matched = tuple(dict.fromkeys(c[3] for c in same if c[2] == best_rank))
        taken.append((start, end))
        out.append(Found(matched, (start, end), text[start:end]))
        del rank
    return out


def _reverse_aliases(part: str) -> set[str]:
    return {short for short, longs in ALIASES.items() if part in longs}


def find_person(text: str, people: Iterable[str]) -> Found | None:
    """A known actor named in the text ("ana", "ana's", "@ana"); exact words only."""
    for name in sorted(people, key=len, reverse=True):
        low = name.lower()
        if not low or len(low) < 2:
            continue
        m = re.search(r"(?<![\w.])@?" + re.escape(low) + r"(?:'s|s')?(?![\w])", text)
        if m:
            return Found((name,), m.span(), m.group(0))
    return None


@dataclass(frozen=True)
class Known:
    """What the registry holds that a question may name, and the clock reading to read
    relative times against (`now`, aware) in `timezone` (an IANA name; None means UTC)."""

    models: Sequence[str] = ()
    metrics: Sequence[str] = ()
    people: Sequence[str] = ()
    params: Sequence[str] = ()
    packages: Sequence[str] = ()
    now: dt.datetime | None = None
    timezone: str | None = None
