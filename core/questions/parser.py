"""Reading a question in plain words: `parse(text) -> Intent | None` (pure, no I/O).

The parser recognises the questions people ask most about a registry, in many phrasings,
without an LLM. It never resolves anything: version references stay as written (normalised:
`v2.1.5` → `2.1.5`, "prod"/"live" → `production`, "newest" → `latest`, "baseline" →
`golden`), and a model is filled in only when the text names one of `models`. The caller
resolves references against the registry and asks which model when it cannot tell.

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

import re
from collections.abc import Sequence
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


# -- vocabulary ------------------------------------------------------------------------------

_SEMVER = re.compile(r"(?<![\w.])v?(\d+\.\d+\.\d+)(?![\w]|\.\d)")
_HEX = re.compile(r"(?<![\w])(?:sha256:|md5:)?([0-9a-f]{6,64})(?![\w])")
# Words that stand for a version, normalised. Order matters for multi-word phrases.
_REF_WORDS: tuple[tuple[str, str], ...] = (
    (r"most recent", "latest"),
    (r"latest", "latest"),
    (r"newest", "latest"),
    (r"production", "production"),
    (r"prod", "production"),
    (r"live", "production"),
    (r"staging", "staging"),
    (r"golden", "golden"),
    (r"baseline", "golden"),
    (r"previous", "previous"),
    (r"prior", "previous"),
)
_REF_RE = re.compile(r"\b(" + "|".join(p for p, _ in _REF_WORDS) + r")\b")
_REF_NAME = {p: name for p, name in _REF_WORDS}
_NUMBER_WORDS = {
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
_NOT_METRIC = frozenset(
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

_POLITE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so)\b[\s,!]*)?"
    r"(?:(?:please|pls|kindly)\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|"
    r"i\s+(?:want|need|would\s+like)\s+(?:you\s+)?to\s+|i'd\s+like\s+(?:you\s+)?to\s+|"
    r"let'?s\s+|go\s+ahead\s+and\s+|"
    r"how\s+(?:do|can|would|should)\s+(?:i|we|you)\s+|what(?:'s| is)\s+the\s+command\s+to\s+)?"
    r"(?:please\s+)?"
)
_CHANGE_VERBS: tuple[tuple[str, str], ...] = (
    (r"roll\s*back|rollback|revert", "rollback"),
    (r"retire|archive|deprecate|decommission", "retire"),
    (r"(?:make|mark|set)\b.*\b(?:golden|baseline)|set\s+(?:the\s+)?(?:golden|baseline)", "golden"),
    (r"(?:promote|move|put|push)\b.*\bstaging|stage\s+(?:v?\d|the|it|version)", "stage"),
    (
        r"promote|deploy|ship|release|(?:put|push|move)\b.*\bproduction|go\s+live",
        "promote",
    ),
)
_QUESTION_START = re.compile(
    r"^(?:who|whom|whose|when|why|what|which|where|is|was|were|did|does|has|had|are|show|list|"
    r"tell|give|compare|diff)\b"
)


# -- parsing -----------------------------------------------------------------------------------


def parse(text: str, *, models: Sequence[str] = (), metrics: Sequence[str] = ()) -> Intent | None:
    """The intent of `text`, or None when it is not one of the questions the parser knows.

    `models` are the registry's model names (so the text can name one), `metrics` the metric
    names it has logged (so "best f1_macro" is read as that metric); both optional.
    """
    original = " ".join(text.strip().split())
    if not original:
        return None
    lowered = original.lower()
    model, lowered = _take_model(lowered, models)
    words = _clean(lowered)
    if not words:
        return Intent("models") if model is None else Intent("stage", model, stage="production")

    change = _change(words)
    if change is not None:
        return _finish(change, model)
    for reader in (
        _help,
        _monitoring,
        _used,
        _regression,
        _best,
        _history,
        _who,
        _why,
        _diff,
        _stage,
        _latest,
        _models,
        _show,
    ):
        intent = reader(words, metrics)
        if intent is not None:
            return _finish(intent, model)
    return None


def _finish(intent: Intent, model: str | None) -> Intent:
    if intent.kind in ("models", "help"):
        return intent
    return intent.with_model(model)


def _take_model(text: str, models: Sequence[str]) -> tuple[str | None, str]:
    """The first known model named in `text` (longest names first), and the text without it."""
    for name in sorted(models, key=len, reverse=True):
        pattern = re.compile(r"(?<![\w./-])" + re.escape(name.lower()) + r"(?![\w/-]|\.\w)")
        match = pattern.search(text)
        if match:
            rest = text[: match.start()] + " " + text[match.end() :]
            return name, rest
    return None, text


def _clean(text: str) -> str:
    """Lower-case text with punctuation (but not version dots, hyphens, underscores) removed."""
    text = text.replace("’", "'").replace("`", " ").replace('"', " ").replace("“", " ")
    text = text.replace("”", " ")
    text = re.sub(r"<@[\w]+>", " ", text)  # Slack mentions
    text = re.sub(r"[?!,;:()\[\]{}]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # full stops, not version dots
    text = re.sub(r"\bwhat's\b", "what is", text)
    text = re.sub(r"\bwho's\b", "who is", text)
    text = re.sub(r"\bwhats\b", "what is", text)
    return " ".join(text.split())


def refs_in(words: str) -> tuple[str, ...]:
    """Version references in the order written: numbers and the words that stand for one."""
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in _SEMVER.finditer(words)]
    found += [(m.start(), _REF_NAME[m.group(1)]) for m in _REF_RE.finditer(words)]
    found.sort()
    out: list[str] = []
    for _, ref in found:
        if ref not in out:
            out.append(ref)
    return tuple(out)


def _explicit_first(refs: tuple[str, ...]) -> tuple[str, ...]:
    """For one-version questions: a number wins over a word ("who deployed 2.1.5 to prod")."""
    numbers = tuple(r for r in refs if r[0].isdigit())
    return numbers[:1] or refs[:1]


def _has(words: str, pattern: str) -> bool:
    return re.search(pattern, words) is not None


# -- change requests ---------------------------------------------------------------------------


def _change(words: str) -> Intent | None:
    rest = _POLITE.sub("", words, count=1)
    asked_how = rest != words and _has(words, r"^(?:how|what)")
    if _QUESTION_START.match(rest) and not asked_how:
        return None
    for pattern, action in _CHANGE_VERBS:
        if re.match(r"(?:" + pattern + r")", rest):
            reason = None
            match = re.search(r"\b(?:because|since|as|reason|due to)\b:?\s*(.+)$", rest)
            head = rest
            if match and not _SEMVER.fullmatch(match.group(1)):
                reason = match.group(1).strip() or None
                head = rest[: match.start()]
            refs = tuple(r for r in refs_in(head) if r not in ("staging",) or action != "stage")
            if action == "promote":
                refs = tuple(r for r in refs if r != "production") or refs
            if action == "golden":
                refs = tuple(r for r in refs if r != "golden")
            return Intent("change", refs=refs, action=action, reason=reason)
    return None


# -- questions ---------------------------------------------------------------------------------


def _help(words: str, metrics: Sequence[str]) -> Intent | None:
    if _has(
        words,
        r"^(?:help|\?|what can (?:you|i) (?:do|ask|answer)|what do you (?:know|answer)|"
        r"how do(?:es)? (?:this|you) work)\b",
    ):
        return Intent("help")
    return None


def _used(words: str, metrics: Sequence[str]) -> Intent | None:
    hexes = [m.group(1) for m in _HEX.finditer(words) if not _SEMVER.fullmatch(m.group(1))]
    hexes = [h for h in hexes if any(c.isdigit() for c in h) or len(h) >= 12]
    if not hexes:
        return None
    value = max(hexes, key=len)
    commit_words = _has(words, r"\b(?:commit|commits|sha|git|code|revision|rev|checkout)\b")
    data_words = _has(
        words,
        r"\b(?:data|dataset|datasets|digest|snapshot|file|files|sha256|md5|hash|table|csv|"
        r"parquet|trained on|training set)\b",
    )
    if commit_words and not data_words:
        return Intent("used_commit", commit=value)
    if data_words and not commit_words:
        return Intent("used_data", digest=value)
    if commit_words and data_words:
        # "which versions used the data at commit abc": the word nearest the value decides
        before = words[: words.find(value)]
        last_commit = max(before.rfind(w) for w in ("commit", "sha ", "git", "code", "rev"))
        last_data = max(before.rfind(w) for w in ("data", "digest", "snapshot", "file", "hash"))
        kind = "used_commit" if last_commit > last_data else "used_data"
        return Intent(kind, commit=value) if kind == "used_commit" else Intent(kind, digest=value)
    if len(value) == 40:
        return Intent("used_commit", commit=value)
    if len(value) == 64:
        return Intent("used_data", digest=value)
    return None


_WORSE = (
    r"regress(?:ed|ion|ions)?|get worse|got worse|gotten worse|become worse|became worse|"
    r"worsen(?:ed)?|drop(?:ped)?|decline[d]?|degrade[d]?|degradation|fall|fell|go down|went down|"
    r"dip(?:ped)?|tank(?:ed)?|decrease[d]?|increase[d]?|go up|went up|jump(?:ed)?|worse"
)


def _metric_near(words: str, metrics: Sequence[str], patterns: Sequence[str]) -> str | None:
    """A known metric named anywhere, else the word the patterns capture."""
    for name in sorted(metrics, key=len, reverse=True):
        if re.search(r"(?<![\w.@/-])" + re.escape(name.lower()) + r"(?![\w@/-])", words):
            return name
    for pattern in patterns:
        for match in re.finditer(pattern, words):
            word = match.group("m")
            if word and word not in _NOT_METRIC and not _SEMVER.fullmatch(word):
                return word
    return None


def _regression(words: str, metrics: Sequence[str]) -> Intent | None:
    if not _has(words, r"\b(?:" + _WORSE + r")\b") or _has(words, r"\bwhy\b"):
        return None
    if len(_SEMVER.findall(words)) >= 2:
        return None  # "did auc drop between 2.1.4 and 2.1.5" is a diff
    upward = _has(words, r"\b(?:increase[d]?|go up|went up|jump(?:ed)?)\b")
    explicit_regress = _has(words, r"\bregress|\bworse|\bdegrad|\bworsen")
    if upward and not explicit_regress and not _has(words, r"\b(?:loss|error|latency|rmse|mae)"):
        return None  # "when did auc go up" is not a regression question
    if not _has(words, r"\b(?:when|which|what|where|did|has|have|was|list|show|find|any)\b"):
        return None
    metric = _metric_near(
        words,
        metrics,
        (
            r"(?:did|has|have|was|the)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)\s+(?:" + _WORSE + r")",
            r"(?P<m>[a-z][\w.@/-]*)\s+(?:" + _WORSE + r")",
            r"(?:" + _WORSE + r")\s+(?:in|on|of|for)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)",
            r"(?:make|made|makes)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)\s+worse",
        ),
    )
    return Intent("regression", metric=metric)


def _best(words: str, metrics: Sequence[str]) -> Intent | None:
    match = re.search(
        r"\b(best|top|highest|lowest|max(?:imum)?|min(?:imum)?|greatest|smallest|"
        r"largest|biggest)\b",
        words,
    )
    if not match or _has(words, r"\bbest practice"):
        return None
    word = match.group(1)
    order = "best"
    if word in ("highest", "max", "maximum", "greatest", "largest", "biggest"):
        order = "highest"
    elif word in ("lowest", "min", "minimum", "smallest"):
        order = "lowest"
    metric = _metric_near(
        words,
        metrics,
        (
            r"\b(?:best|top|highest|lowest|max(?:imum)?|min(?:imum)?|greatest|smallest|"
            r"largest|biggest)\s+(?P<m>[a-z][\w.@/-]*)",
            r"\b(?:by|on|for|of|in terms of|according to|with respect to|wrt)\s+(?:the\s+)?"
            r"(?P<m>[a-z][\w.@/-]*)",
        ),
    )
    if metric is None:
        return None
    return Intent("best", metric=metric, order=order)


_REGISTER = r"regist\w*|creat\w*|train\w*|built|build|made|add\w*|upload\w*|log\w*|publish\w*"
_PROMOTE = (
    r"promot\w*|deploy\w*|ship\w*|releas\w*|put\b.*\bproduction|pushed|moved|go(?:es)? live|"
    r"went live|"
    r"(?:sent|send)\b.*\bproduction|approv\w*"
)


def _who(words: str, metrics: Sequence[str]) -> Intent | None:
    who = _has(words, r"^(?:who|whom|whose|by whom)\b|\bby whom\b|\bwho\b")
    when = _has(words, r"\bwhen\b|\bwhat (?:time|day|date)\b")
    if not (who or when):
        return None
    refs = refs_in(words)
    register = _has(words, r"\b(?:" + _REGISTER + r")\b")
    promote = _has(words, r"\b(?:" + _PROMOTE + r")\b")
    if when and not who and not (register or promote):
        return None
    if who and not (register or promote) and not refs:
        return None  # "who are you", "who can promote" …
    if _has(words, r"\bwho can\b|\bwho is allowed\b|\bwho may\b"):
        return None
    action = "promote" if promote and not register else "register" if register else "any"
    if action == "promote" and refs == ("production",) and not _SEMVER.search(words):
        return Intent("who", refs=("production",), action="promote")
    chosen = _explicit_first(tuple(r for r in refs if r != "production" or len(refs) == 1))
    return Intent("who", refs=chosen, action=action)


def _why(words: str, metrics: Sequence[str]) -> Intent | None:
    if not _has(words, r"\bwhy\b|\bwhat (?:was the )?reason\b|\bwhat happened to\b|\bhow come\b"):
        return None
    if not _has(
        words,
        r"\b(?:retir\w*|archiv\w*|roll\w* ?back|rolled back|remov\w*|deprecat\w*|supersed\w*|"
        r"replac\w*|demot\w*|pull\w*|taken down|take down|not in production|no longer|"
        r"happened|decommission\w*|dropped|killed)\b",
    ):
        return None
    refs = _explicit_first(tuple(r for r in refs_in(words) if r != "production"))
    action = "rollback" if _has(words, r"\broll\w* ?back\b|\brollback\b") else "archive"
    return Intent("why", refs=refs, action=action)


def _diff(words: str, metrics: Sequence[str]) -> Intent | None:
    if not _has(
        words,
        r"\b(?:diff|difference|differences|differ|differs|different|compare|compared|comparison|"
        r"change|changed|changes|vs|versus|what is new|new in|delta)\b",
    ):
        return None
    refs = refs_in(words)
    if len(refs) > 2:
        refs = refs[:2]
    since = bool(re.search(r"\bsince\b", words)) and len(refs) == 1
    if not refs and not _has(words, r"\b(?:recent|recently|last|latest|lately|new)\b|^what\b"):
        return None
    return Intent("diff", refs=refs, since=since)


def _history(words: str, metrics: Sequence[str]) -> Intent | None:
    stage = "production"
    if _has(words, r"\bstaging\b"):
        stage = "staging"
    if _has(
        words,
        r"\b(?:history|timeline|past releases|previous releases|deployment log|release log)\b|"
        r"\b(?:was|were|has been|have been) in (?:production|staging)\b|"
        r"\b(?:previous|past|earlier|former) (?:production|prod|live)\b|"
        r"\bbefore (?:that|this|it)\b.*\bproduction\b|\bproduction before\b",
    ):
        return Intent("history", stage=stage)
    return None


def _stage(words: str, metrics: Sequence[str]) -> Intent | None:
    refs = refs_in(words)
    stage = None
    if _has(words, r"\b(?:golden|baseline)\b"):
        stage = "golden"
    elif _has(words, r"\bstaging\b|\bstaged\b"):
        stage = "staging"
    elif _has(
        words,
        r"\b(?:production|prod|live|deployed|serving|running|in use|released)\b",
    ):
        stage = "production"
    if stage is None:
        return None
    others = tuple(r for r in refs if r[0].isdigit() or r in ("latest", "previous"))
    return Intent("stage", stage=stage, refs=others[:1])


def _latest(words: str, metrics: Sequence[str]) -> Intent | None:
    plural = _has(words, r"\bversions\b|\breleases\b|\bruns\b")
    latest = _has(words, r"\b(?:latest|newest|most recent|recent|last|new)\b")
    listing = _has(words, r"^(?:list|show|give|get|what are|which are|all)\b|\bhow many\b")
    if not (latest or (plural and listing) or _has(words, r"\bversions of\b")):
        return None
    if not (plural or _has(words, r"\bversion\b|\brelease\b|\bmodel\b") or latest):
        return None
    limit = None
    count = re.search(r"(?<![\d.])\b(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\b(?!\.\d)", words)
    if count:
        limit = _NUMBER_WORDS.get(count.group(1)) or int(count.group(1))
    elif latest and not plural:
        limit = 1
    return Intent("latest", limit=limit)


def _models(words: str, metrics: Sequence[str]) -> Intent | None:
    if _has(words, r"\bmodels\b|\bwhat (?:models|is registered|do (?:we|you) have)\b"):
        return Intent("models")
    return None


def _show(words: str, metrics: Sequence[str]) -> Intent | None:
    refs = refs_in(words)
    if not refs:
        return None
    if (
        _has(
            words,
            r"\b(?:show|tell|describe|details?|info|information|about|notes?|recorded|params|"
            r"parameters|metrics|what is|look at|summary|summarize|explain)\b",
        )
        or words.strip() in refs
        or _SEMVER.fullmatch(words.strip())
    ):
        return Intent("show", refs=_explicit_first(refs))
    return None


def _monitoring(words: str, metrics: Sequence[str]) -> Intent | None:
    """"is production drifting?", "any drift in 2.1.5?", "how is 2.1.5 doing live?",
    "how is the model performing in production?", "live metrics of 2.1.5"."""
    if not _has(
        words,
        r"\b(?:drift\w*|skew\w*|decay\w*|monitor\w*)\b|"
        r"\b(?:doing|performing|going|holding up)\b.*\b(?:live|production|prod)\b|"
        r"\blive (?:metrics|performance|accuracy|data)\b",
    ):
        return None
    refs = _explicit_first(refs_in(words))
    return Intent("monitoring", refs=refs or ("production",))
