"""Finding what a question names: a known model, version references, a metric. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from modeltrail.core.questions.names import find_names
from modeltrail.core.questions.vocabulary import NOT_METRIC, REF_NAME, REF_RE, SEMVER


def take_model(text: str, models: Sequence[str]) -> tuple[str | None, str]:
    """The first known model named in `text` (longest names first), and the text without it.
    "fraud detector" and "fraud_detector" name `fraud-detector` too."""
    for name in sorted(models, key=len, reverse=True):
        spelled = r"[\s_-]?".join(re.escape(w) for w in re.split(r"[\s_-]+", name.lower()))
        pattern = re.compile(r"(?<![\w./-])" + spelled + r"(?![\w/-]|\.\w)")
        match = pattern.search(text)
        if match:
            rest = text[: match.start()] + " " + text[match.end() :]
            return name, rest
    return None, text


def refs_in(words: str) -> tuple[str, ...]:
    """Version references in the order written: numbers and the words that stand for one."""
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in SEMVER.finditer(words)]
    found += [(m.start(), REF_NAME[m.group(1)]) for m in REF_RE.finditer(words)]
    found.sort()
    out: list[str] = []
    for _, ref in found:
        if ref not in out:
            out.append(ref)
    return tuple(out)


def explicit_first(refs: tuple[str, ...]) -> tuple[str, ...]:
    """For one-version questions: a number wins over a word ("who deployed 2.1.5 to prod")."""
    numbers = tuple(r for r in refs if r[0].isdigit())
    return numbers[:1] or refs[:1]


def metric_near(words: str, metrics: Sequence[str], patterns: Sequence[str]) -> str | None:
    """A known metric named anywhere (as people write it: see `names`), else the word the
    patterns capture. When the words could mean two metrics, the words come back as written
    and the parser lists the choices."""
    for name in sorted(metrics, key=len, reverse=True):
        if re.search(r"(?<![\w.@/-])" + re.escape(name.lower()) + r"(?![\w@/-])", words):
            return name
    found = find_names(words, metrics)
    if found:
        return found[0].name or found[0].written
    for pattern in patterns:
        for match in re.finditer(pattern, words):
            word = match.group("m")
            if word and word not in NOT_METRIC and not SEMVER.fullmatch(word):
                return word
    return None
