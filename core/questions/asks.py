"""The questions teams ask beyond lookups by version (pure): what happened in a period or what a
person did, dirty-tree versions, a package's version, a param's story, the rollback target, a
metric's value; placing a question in time; and `finish`, which checks that every word of the
question was read (see `coverage`) and lists the metrics one word could mean.
"""

from __future__ import annotations

import re
from dataclasses import replace

from modeltrail.core.questions.coverage import leftover
from modeltrail.core.questions.intent import Intent
from modeltrail.core.questions.moments import When
from modeltrail.core.questions.names import Found, Known, find_names, find_person
from modeltrail.core.questions.refs import explicit_first, refs_in
from modeltrail.core.questions.vocabulary import (
    HEX,
    NOT_METRIC,
    NUMBER_WORDS,
    PROMOTE,
    REGISTER,
    SEMVER,
)

# Packages people name without saying "package": the usual ML stack.
ML_PACKAGES = frozenset(
    {
        "scikit-learn",
        "torch",
        "tensorflow",
        "xgboost",
        "lightgbm",
        "catboost",
        "pandas",
        "numpy",
        "scipy",
        "transformers",
        "keras",
        "jax",
        "statsmodels",
        "pyarrow",
        "onnx",
        "onnxruntime",
        "polars",
        "python",
    }
)
# Kinds that can use a moment or period, and those where one changes which version is meant.
USES_WHEN = frozenset({"stage", "history", "activity", "metric", "show", "package", "who"})
AS_ACTIVITY = frozenset({"latest", "models", "why", "diff"})


def _has(words: str, pattern: str) -> bool:
    return re.search(pattern, words) is not None


def read_more(words: str, known: Known, when: When | None) -> Intent | None:
    for reader in (_param, _rollback_target, _dirty, _activity, _package, _live_health):
        intent = reader(words, known, when)
        if intent is not None:
            return intent
    return None


def read_values(words: str, known: Known) -> Intent | None:
    """After the lookups by version: a param's story, or a metric's value in a version."""
    for reader in (_metric_value,):
        intent = reader(words, known, None)
        if intent is not None:
            return intent
    return None


def _rollback_target(words: str, known: Known, when: When | None) -> Intent | None:
    rollback = r"(?:roll\s*(?:ing\s*)?back|rollback|revert|fall\s*back|fallback)"
    if not _has(words, r"\b" + rollback):
        return None
    asks = _has(
        words,
        r"^(?:which|what|where|if|whats|is there|do we have)\b|\b(?:target|safe|safest|"
        r"candidates?|options?|would|could|should|to what|which version|what version)\b",
    )
    if not asks or _has(
        words, r"\bwhy\b|\bdid\b|\bwhen\b|\bwho\b|\bhow (?:do|can|would|should) (?:i|we)\b"
    ):
        return None
    return Intent("rollback")


def _dirty(words: str, known: Known, when: When | None) -> Intent | None:
    if _has(
        words,
        r"\b(?:dirty|uncommitted|un-committed|unclean|not committed|local changes|"
        r"working tree|without committing|modified tree|wip)\b",
    ):
        return Intent("dirty")
    return None


def _activity(words: str, known: Known, when: When | None) -> Intent | None:
    person = find_person(words, known.people)
    action = action_of(words)
    if person is not None:
        if SEMVER.search(words) or _has(words, r"^(?:who|when)\b"):
            return None  # "did ana promote 2.1.5": the version's story
        return Intent("activity", person=person.names[0], action=action, when=when)
    if _has(
        words,
        r"\b(?:what (?:is|has) happened|what happened|whats? happening|what is going on|"
        r"what went on|activity|anything happen\w*|any (?:news|updates?|changes|activity)|"
        r"any (?:rollbacks?|promotions?|deployments?|releases?|retirements?|registrations?)|"
        r"what is new|whats new|changelog|events|recap|catch me up)\b",
    ) and not refs_in(words):
        return Intent("activity", action=action, when=when)
    if (
        when is not None
        and not when.moment
        and _has(
            words,
            r"\b(?:" + PROMOTE + "|" + REGISTER + r"|rolled back|roll\w* back|retired|changed)\b",
        )
        and not SEMVER.search(words)
        and not _has(words, r"\b(?:live|serving|in production|champion)\b")
    ):
        return Intent("activity", action=action, when=when)
    return None


def action_of(words: str) -> str:
    if _has(words, r"\broll\w* ?back|\brollbacks?\b|\breverted\b"):
        return "rollback"
    if _has(words, r"\b(?:retir\w*|archiv\w*)\b"):
        return "retire"
    if _has(words, r"\b(?:" + PROMOTE + r")\b"):
        return "promote"
    if _has(words, r"\b(?:" + REGISTER + r")\b|\bcame out\b|\bnew versions\b"):
        return "register"
    return "any"


def _package(words: str, known: Known, when: When | None) -> Intent | None:
    found = find_names(words, [*known.packages, *ML_PACKAGES], parts=False)
    context = _has(
        words,
        r"\b(?:package|packages|library|lib|dependency|dependencies|deps|installed|upgraded?|"
        r"bumped?|downgraded?|pinned|version of|versions of)\b",
    )
    for match in found:
        name = match.names[0]
        if name.lower() in ML_PACKAGES or context:
            refs = explicit_first(refs_in(words))
            return Intent("package", package=name, refs=refs, written=((match.written, name),))
    return None


def _live_health(words: str, known: Known, when: When | None) -> Intent | None:
    """ "how is the live model doing", "is the champion healthy", "how's prod holding up"."""
    if not _has(words, r"\b(?:production|prod|live|champion|serving|deployed|current)\b"):
        return None
    if _has(
        words,
        r"^how(?: is| are|s)?\b.*\b(?:doing|performing|going|holding up|behaving|look\w*)\b|"
        r"\b(?:healthy|health|ok|okay|fine|alright|degrading)\b",
    ) and not _has(words, r"\b(?:what|which) version\b"):
        refs = explicit_first(refs_in(words))
        return Intent("monitoring", refs=refs or ("production",))
    return None


def _param(words: str, known: Known, when: When | None) -> Intent | None:
    found = find_names(words, known.params, last_part=True)
    if not found:
        return None
    match = found[0]
    refs = explicit_first(refs_in(words))
    if match.name is None:
        return Intent("param", param=match.written, refs=refs, choices=match.names)
    return Intent("param", param=match.name, refs=refs, written=((match.written, match.name),))


_VALUE = re.compile(
    r"(?:what(?: is| was)?|whats|show|give|get|tell)\s+(?:me\s+)?(?:the\s+)?(?P<m>[a-z][\w@/-]*)"
    r"\s+(?:of|for|in|on|at)\s+(?:the\s+)?(?:production|prod|live|champion|staging|golden|latest|"
    r"previous|v?\d)"
)
_NOT_A_METRIC = frozenset(
    {
        "stage",
        "status",
        "state",
        "history",
        "story",
        "diff",
        "difference",
        "data",
        "dataset",
        "code",
        "commit",
        "environment",
        "params",
        "version",
        "versions",
        "latest",
        "golden",
        "timeline",
        "description",
        "notes",
        "owner",
        "author",
        "reason",
        "hash",
        "digest",
        "size",
        "config",
        "date",
        "time",
        "model",
        "metrics",
        "number",
        "name",
        "live",
        "serving",
        "deployed",
        "champion",
        "production",
        "prod",
        "staging",
        "running",
        "current",
        "candidate",
        "baseline",
        "new",
        "changed",
        "in",
        "on",
        "there",
        "happening",
        "going",
        "recorded",
        "setting",
        "sitting",
        "stored",
        "logged",
        "saved",
        "known",
        "left",
    }
)


def _metric_value(words: str, known: Known, when: When | None) -> Intent | None:
    found = find_names(words, known.metrics)
    refs = explicit_first(refs_in(words))
    if found:
        match = found[0]
        if match.name is None:
            return Intent("metric", metric=match.written, refs=refs, choices=match.names)
        return Intent(
            "metric", metric=match.name, refs=refs, written=((match.written, match.name),)
        )
    value = _VALUE.search(words)
    if value and value.group("m") not in _NOT_A_METRIC | NOT_METRIC:
        return Intent("metric", metric=value.group("m"), refs=refs)
    return None


def place_in_time(intent: Intent, words: str, when: When | None) -> Intent:
    """A question that names a time: kept where the kind can use it, read as "what happened
    then" where that is the question ("which versions came out last week"), else the time is
    reported unread so the answer does not ignore it."""
    if when is None:
        return intent
    if intent.kind == "history" and not _has(words, r"\b(?:history|timeline|log|versions|been)\b"):
        return Intent("stage", stage=intent.stage, when=when)  # "what was in prod 2 days ago"
    if intent.kind in USES_WHEN:
        return replace(intent, when=when)
    if intent.kind in AS_ACTIVITY and not (intent.kind == "diff" and intent.refs):
        action = "register" if intent.kind == "latest" else intent.action or "any"
        if intent.kind == "why":
            action = "rollback" if intent.action == "rollback" else "retire"
        if intent.kind == "diff":
            action = "any"
        return Intent("activity", action=action, when=when)
    if intent.kind == "diff":
        return replace(intent, when=when)
    return replace(intent, unread=(*intent.unread, when.words))


# -- the whole question read? -----------------------------------------------------------------


def finish(
    intent: Intent, words: str, known: Known, model: str | None, time_unread: tuple[str, ...]
) -> Intent:
    """The intent with its model, its metric as the registry spells it (or the choices), and
    every word it did not read in `unread`."""
    if intent.kind not in ("models", "help"):
        intent = intent.with_model(model)
    if intent.kind == "diff" and _has(
        words, r"\b(?:param\w*|hyper\w*|hparams|settings|config\w*|knobs)\b"
    ):
        intent = replace(intent, focus="params")
    if (
        intent.metric
        and known.metrics
        and intent.metric not in known.metrics
        and not intent.choices
    ):
        matches = find_names(intent.metric, known.metrics)
        if matches and matches[0].name is not None:
            intent = replace(
                intent,
                metric=matches[0].name,
                written=(*intent.written, (intent.metric, matches[0].name)),
            )
        elif matches:
            intent = replace(intent, choices=matches[0].names)
    rest = _without_read_parts(intent, words, known)
    unread = (*intent.unread, *time_unread, *leftover(rest, ()))
    if intent.kind == "help" and unread:
        return replace(intent, unread=())  # "help me with prod" still wants help
    return replace(intent, unread=tuple(dict.fromkeys(unread)))


def _without_read_parts(intent: Intent, words: str, known: Known) -> str:
    spans: list[tuple[int, int]] = []
    if intent.kind == "change":
        cut = re.search(r"\b(?:because|since|as|reason|due to)\b", words)
        if cut:
            words = words[: cut.start()]
    for ref in intent.refs:
        if ref[0].isdigit():
            spans += [m.span() for m in SEMVER.finditer(words) if m.group(1) == ref]
    for value in (intent.digest, intent.commit):
        if value:
            spans += [m.span() for m in HEX.finditer(words) if m.group(1) == value]
    names: list[Found] = []
    if intent.metric:
        names += find_names(words, [intent.metric], parts=True)
        spans += [
            m.span()
            for m in re.finditer(
                r"(?<![\w])" + re.escape(intent.metric.lower()) + r"(?![\w])", words
            )
        ]
        for written, _ in intent.written:
            spans += [m.span() for m in re.finditer(re.escape(written), words)]
    if intent.param:
        names += find_names(words, [intent.param], last_part=True)
    if intent.package:
        names += find_names(words, [intent.package, "python"], parts=False)
    for written, _ in intent.written:
        spans += [m.span() for m in re.finditer(re.escape(written), words)]
    if intent.person:
        person = find_person(words, [intent.person])
        if person is not None:
            spans.append(person.span)
    if intent.limit is not None:
        spans += [
            m.span() for m in re.finditer(r"\b(?:\d{1,3}|" + "|".join(NUMBER_WORDS) + r")\b", words)
        ]
    spans += [n.span for n in names]
    out = list(words)
    for start, end in spans:
        for i in range(start, end):
            out[i] = " "
    return "".join(out)
