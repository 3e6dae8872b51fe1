"""The words and patterns the question parser knows: version numbers and the words that stand
for a version, digests, numbers in words, words that are never a metric, politeness around a
request, and the verbs of changes, regressions, registering and promoting. Tables only; the
parser (`parser`) and the extraction of references (`refs`) read them.
"""

from __future__ import annotations

import re

SEMVER = re.compile(r"(?<![\w.])v?(\d+\.\d+\.\d+)(?![\w]|\.\d)")
HEX = re.compile(r"(?<![\w])(?:sha256:|md5:)?([0-9a-f]{6,64})(?![\w])")
# Words that stand for a version, normalised. Order matters for multi-word phrases.
REF_WORDS: tuple[tuple[str, str], ...] = (
    (r"most recent", "latest"),
    (r"latest", "latest"),
    (r"newest", "latest"),
    (r"production", "production"),
    (r"prod", "production"),
    (r"live", "production"),
    (r"champion", "production"),
    (r"serving", "production"),
    (r"current", "production"),
    (r"deployed", "production"),
    (r"staging", "staging"),
    (r"staged", "staging"),
    (r"candidate", "staging"),
    (r"challenger", "staging"),
    (r"golden", "golden"),
    (r"gold", "golden"),
    (r"baseline", "golden"),
    (r"previous", "previous"),
    (r"prior", "previous"),
)
REF_RE = re.compile(r"\b(" + "|".join(p for p, _ in REF_WORDS) + r")\b")
REF_NAME = {p: name for p, name in REF_WORDS}
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
}
# Words that are never a metric name, though they sit where one often does.
NOT_METRIC = frozenset(
    {
        "a",
        "an",
        "the",
        "version",
        "versions",
        "model",
        "models",
        "one",
        "score",
        "metric",
        "metrics",
        "performance",
        "result",
        "results",
        "it",
        "did",
        "does",
        "do",
        "has",
        "have",
        "is",
        "was",
        "of",
        "in",
        "on",
        "for",
        "by",
        "with",
        "and",
        "or",
        "to",
        "value",
        "we",
        "our",
        "my",
        "which",
        "what",
        "when",
        "where",
        "first",
        "last",
        "ever",
        "so",
        "far",
        "terms",
        "production",
        "staging",
        "golden",
        "latest",
        "any",
        "all",
        "there",
        "were",
        "been",
        "me",
        "us",
        "this",
        "that",
        "things",
        "something",
        "anything",
    }
)

# A request: the politeness stripped before its verb, the verbs (tried in order, so a narrower
# phrase comes before the one it would also match), and the openings that make it a question.
POLITE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so)\b[\s,!]*)?"
    r"(?:(?:please|pls|kindly)\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|"
    r"i\s+(?:want|need|would\s+like)\s+(?:you\s+)?to\s+|i'd\s+like\s+(?:you\s+)?to\s+|"
    r"let'?s\s+|go\s+ahead\s+and\s+|"
    r"how\s+(?:do|can|would|should)\s+(?:i|we|you)\s+|what(?:'s| is)\s+the\s+command\s+to\s+)?"
    r"(?:please\s+)?"
)
CHANGE_VERBS: tuple[tuple[str, str], ...] = (
    (r"roll\s*back|rollback|revert", "rollback"),
    (r"retire|archive|deprecate|decommission", "retire"),
    (r"(?:make|mark|set)\b.*\b(?:golden|baseline)|set\s+(?:the\s+)?(?:golden|baseline)", "golden"),
    (r"(?:promote|move|put|push)\b.*\bstaging|stage\s+(?:v?\d|the|it|version)", "stage"),
    (
        r"promote|deploy|ship|release|(?:put|push|move)\b.*\bproduction|go\s+live",
        "promote",
    ),
)
QUESTION_START = re.compile(
    r"^(?:who|whom|whose|when|why|what|which|where|is|was|were|did|does|has|had|are|show|list|"
    r"tell|give|compare|diff)\b"
)

# Alternations the readers splice into their patterns: a metric getting worse, a version being
# registered, a version being promoted.
WORSE = (
    r"regress(?:ed|ion|ions)?|get worse|got worse|gotten worse|become worse|became worse|"
    r"worsen(?:ed)?|drop(?:ped)?|decline[d]?|degrade[d]?|degradation|fall|fell|go down|went down|"
    r"dip(?:ped)?|tank(?:ed)?|decrease[d]?|increase[d]?|go up|went up|jump(?:ed)?|worse"
)
REGISTER = r"regist\w*|creat\w*|train\w*|built|build|made|add\w*|upload\w*|log\w*|publish\w*"
PROMOTE = (
    r"promot\w*|deploy\w*|ship\w*|releas\w*|put\b.*\b(?:production|prod|live|there)|pushed|"
    r"moved|go(?:es)? live|"
    r"went live|"
    r"(?:sent|send)\b.*\bproduction|approv\w*"
)
