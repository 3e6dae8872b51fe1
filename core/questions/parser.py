"""Reading a question in plain words: `parse(text) -> Intent | None` (pure, no I/O).

The parser recognises the questions people ask most about a registry, in many phrasings,
without an LLM. It never resolves anything: version references stay as written (normalised:
`v2.1.5` → `2.1.5`, "prod"/"live" → `production`, "newest" → `latest`, "baseline" →
`golden`), and a model is filled in only when the text names one of `models`. The caller
resolves references against the registry and asks which model when it cannot tell.

The intent kinds and the fields each uses are listed in `intent`; the words and patterns it
knows are in `vocabulary`, and finding models, versions and metrics in the text in `refs`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from modeltrail.core.questions.asks import (
    action_of,
    finish,
    place_in_time,
    read_more,
    read_values,
)
from modeltrail.core.questions.coverage import leftover, repair
from modeltrail.core.questions.intent import Intent
from modeltrail.core.questions.moments import When, read_when, zone
from modeltrail.core.questions.names import Known
from modeltrail.core.questions.refs import explicit_first, metric_near, refs_in, take_model
from modeltrail.core.questions.vocabulary import (
    CHANGE_VERBS,
    HEX,
    NUMBER_WORDS,
    POLITE,
    PROMOTE,
    QUESTION_START,
    REGISTER,
    SEMVER,
    WORSE,
)

MAX_CHARS = 2000  # a question longer than this is read only this far (and reported unread)
_MENTION = re.compile(r"<@[\w|.-]+>|^@?modeltrail\b[:,]?|(?<!\S)@modeltrail\b")

# -- parsing -----------------------------------------------------------------------------------


def parse(
    text: str,
    *,
    models: Sequence[str] = (),
    metrics: Sequence[str] = (),
    known: Known | None = None,
) -> Intent | None:
    """The intent of `text`, or None when it is not one of the questions the parser knows.

    `known` holds the registry's names (models, metrics, people, params, packages) so the text
    can name them, and `now` to read relative times against; without `now`, a question that
    names a time comes back with the time words in `unread`. `models` and `metrics` are the
    short form for a `known` with only those.
    """
    if known is None:
        known = Known(models=models, metrics=metrics)
    original = " ".join(text.strip().split())[:MAX_CHARS]
    if not original:
        return None
    lowered = _MENTION.sub(" ", original.lower()).strip()
    model, lowered = take_model(lowered, known.models)
    when, time_unread, future = None, (), False
    if known.now is not None:
        reading = read_when(lowered, known.now, zone(known.timezone))
        when, lowered, time_unread, future = (
            reading.when,
            reading.rest,
            reading.unread,
            reading.future,
        )
    words = repair(_clean(lowered), [*known.metrics, *known.people, *known.packages])
    if not words:
        if when is not None:
            return finish(Intent("activity", when=when), words, known, model, time_unread)
        return Intent("models") if model is None else Intent("stage", model, stage="production")

    intent = _read(words, known, when)
    if intent is None:
        if when is None:
            return None
        intent = Intent("activity", when=when, action=action_of(words))  # words left say
    if future and when is not None:
        time_unread = (*time_unread, when.words + " (in the future)")
    return finish(intent, words, known, model, time_unread)


def unknown_words(text: str, known: Known | None = None) -> tuple[str, ...]:
    """The words of a question the parser does not know (for a reply that names them when
    the question as a whole was not understood)."""
    known = known or Known()
    lowered = _MENTION.sub(" ", " ".join(text.split())[:MAX_CHARS].lower())
    _, lowered = take_model(lowered, known.models)
    names = [*known.metrics, *known.people, *known.packages, *known.params]
    words = repair(_clean(lowered), names)
    return leftover(words, [p for n in names for p in re.split(r"[\s_.-]+", n.lower())])


def _read(words: str, known: Known, when: When | None) -> Intent | None:
    intent = read_more(words, known, when)
    if intent is not None:
        return intent
    change = _change(words)
    if change is not None:
        return change
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
        _values,
        _stage,
        _latest,
        _models,
        _show,
    ):
        intent = reader(words, known)
        if intent is not None:
            return place_in_time(intent, words, when)
    return None


def _values(words: str, known: Known) -> Intent | None:
    return read_values(words, known)


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
    text = re.sub(r"\bwhos\b", "who is", text)
    text = re.sub(r"\b(?:wat|wht|whta|waht)\b", "what", text)
    return " ".join(text.split())


def _has(words: str, pattern: str) -> bool:
    return re.search(pattern, words) is not None


# -- change requests ---------------------------------------------------------------------------


def _change(words: str) -> Intent | None:
    rest = POLITE.sub("", words, count=1)
    asked_how = rest != words and _has(words, r"^(?:how|what)")
    if QUESTION_START.match(rest) and not asked_how:
        return None
    for pattern, action in CHANGE_VERBS:
        if re.match(r"(?:" + pattern + r")", rest):
            reason = None
            match = re.search(r"\b(?:because|since|as|reason|due to)\b:?\s*(.+)$", rest)
            head = rest
            if match and not SEMVER.fullmatch(match.group(1)):
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


def _help(words: str, known: Known) -> Intent | None:
    if _has(
        words,
        r"^(?:help|\?|what can (?:you|i) (?:do|ask|answer)|what do you (?:know|answer)|"
        r"how do(?:es)? (?:this|you) work)\b",
    ):
        return Intent("help")
    return None


def _used(words: str, known: Known) -> Intent | None:
    hexes = [m.group(1) for m in HEX.finditer(words) if not SEMVER.fullmatch(m.group(1))]
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
    if len(value) == 32:  # the md5 DVC records
        return Intent("used_data", digest=value)
    if len(value) == 64:
        return Intent("used_data", digest=value)
    return None


def _regression(words: str, known: Known) -> Intent | None:
    if not _has(words, r"\b(?:" + WORSE + r")\b") or _has(words, r"\bwhy\b"):
        return None
    if len(SEMVER.findall(words)) >= 2:
        return None  # "did auc drop between 2.1.4 and 2.1.5" is a diff
    upward = _has(words, r"\b(?:increase[d]?|go up|went up|jump(?:ed)?)\b")
    explicit_regress = _has(words, r"\bregress|\bworse|\bdegrad|\bworsen")
    if upward and not explicit_regress and not _has(words, r"\b(?:loss|error|latency|rmse|mae)"):
        return None  # "when did auc go up" is not a regression question
    if not _has(words, r"\b(?:when|which|what|where|did|has|have|was|list|show|find|any)\b"):
        return None
    metric = metric_near(
        words,
        known.metrics,
        (
            r"(?:did|has|have|was|the)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)\s+(?:" + WORSE + r")",
            r"(?P<m>[a-z][\w.@/-]*)\s+(?:" + WORSE + r")",
            r"(?:" + WORSE + r")\s+(?:in|on|of|for)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)",
            r"(?:make|made|makes)\s+(?:the\s+)?(?P<m>[a-z][\w.@/-]*)\s+worse",
        ),
    )
    return Intent("regression", metric=metric)


def _best(words: str, known: Known) -> Intent | None:
    match = re.search(
        r"\b(best|top|highest|lowest|max(?:imum)?|min(?:imum)?|greatest|smallest|"
        r"largest|biggest|minimi[sz]es|maximi[sz]es)\b",
        words,
    )
    if not match or _has(words, r"\bbest practice"):
        return None
    word = match.group(1)
    order = "best"
    if word in ("highest", "max", "maximum", "greatest", "largest", "biggest", "maximizes"):
        order = "highest"
    elif word in ("lowest", "min", "minimum", "smallest", "minimizes", "minimises"):
        order = "lowest"
    metric = metric_near(
        words,
        known.metrics,
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


def _who(words: str, known: Known) -> Intent | None:
    who = _has(words, r"^(?:who|whom|whose|by whom)\b|\bby whom\b|\bwho\b")
    when = _has(words, r"\bwhen\b|\bwhat (?:time|day|date)\b")
    if not (who or when):
        return None
    refs = refs_in(words)
    register = _has(words, r"\b(?:" + REGISTER + r")\b")
    promote = _has(words, r"\b(?:" + PROMOTE + r")\b")
    if when and not who and not (register or promote):
        return None
    if who and not (register or promote) and not refs:
        return None  # "who are you", "who can promote" …
    if _has(words, r"\bwho can\b|\bwho is allowed\b|\bwho may\b"):
        return None
    action = "promote" if promote and not register else "register" if register else "any"
    if action == "promote" and refs == ("production",) and not SEMVER.search(words):
        return Intent("who", refs=("production",), action="promote")
    chosen = explicit_first(tuple(r for r in refs if r != "production" or len(refs) == 1))
    return Intent("who", refs=chosen, action=action)


def _why(words: str, known: Known) -> Intent | None:
    if not _has(
        words,
        r"\bwhy\b|^reason\b|\breason (?:for|why)\b|\bwhat (?:was the )?reason\b|"
        r"\bwhat happened to\b|\bhow come\b",
    ):
        return None
    if not _has(
        words,
        r"\b(?:retir\w*|archiv\w*|roll\w* ?back|rolled back|remov\w*|deprecat\w*|supersed\w*|"
        r"replac\w*|demot\w*|pull\w*|taken down|take down|not in production|no longer|"
        r"happened|decommission\w*|dropped|killed)\b",
    ):
        return None
    refs = explicit_first(tuple(r for r in refs_in(words) if r != "production"))
    action = "rollback" if _has(words, r"\broll\w* ?back\b|\brollback\b") else "archive"
    return Intent("why", refs=refs, action=action)


def _diff(words: str, known: Known) -> Intent | None:
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


def _history(words: str, known: Known) -> Intent | None:
    stage = "production"
    if _has(words, r"\bstaging\b"):
        stage = "staging"
    if _has(
        words,
        r"\b(?:history|timeline|past releases|previous releases|deployment log|release log)\b|"
        r"\b(?:has been|have been|were ever|was ever) in (?:production|prod|staging|live)\b|"
        r"\b(?:was|were) in (?:production|staging)\b|"
        r"\b(?:previous|past|earlier|former) (?:production|prod|live)\b|"
        r"\bbefore (?:that|this|it)\b|\b(?:production|prod|live) before\b",
    ):
        return Intent("history", stage=stage, refs=explicit_first(refs_in(words)))
    return None


def _stage(words: str, known: Known) -> Intent | None:
    refs = refs_in(words)
    stage = None
    if _has(words, r"\b(?:golden|baseline)\b"):
        stage = "golden"
    elif _has(words, r"\bstaging\b|\bstaged\b|\bcandidate\b|\bchallenger\b"):
        stage = "staging"
    elif _has(
        words,
        r"\b(?:production|prod|live|deployed|serving|serve|served|running|in use|released|champion|"
        r"current)\b",
    ):
        stage = "production"
    if stage is None or _has(
        words,
        r"^(?:describe|details?|info|summari[sz]e|tell me (?:about|everything))\b|"
        r"^show(?: me)? the (?:golden|baseline|candidate|challenger|champion|staging)\b|"
        r"\binfo(?:rmation)? (?:about|on)\b",
    ):
        return None
    others = tuple(r for r in refs if r[0].isdigit() or r in ("latest", "previous"))
    return Intent("stage", stage=stage, refs=others[:1])


def _latest(words: str, known: Known) -> Intent | None:
    plural = _has(words, r"\bversions\b|\breleases\b|\bruns\b")
    latest = _has(words, r"\b(?:latest|newest|most recent|recent|last|new)\b")
    listing = _has(words, r"^(?:list|show|give|get|what are|which are|all)\b|\bhow many\b")
    if not (latest or (plural and listing) or _has(words, r"\bversions of\b")):
        return None
    if not (plural or _has(words, r"\bversion\b|\brelease\b|\bmodel\b") or latest):
        return None
    limit = None
    count = re.search(r"(?<![\d.])\b(\d{1,3}|" + "|".join(NUMBER_WORDS) + r")\b(?!\.\d)", words)
    if count:
        limit = NUMBER_WORDS.get(count.group(1)) or int(count.group(1))
    elif latest and not plural:
        limit = 1
    return Intent("latest", limit=limit)


def _models(words: str, known: Known) -> Intent | None:
    if _has(words, r"\bmodels\b|\bwhat (?:models|is registered|do (?:we|you) have)\b"):
        return Intent("models")
    return None


def _show(words: str, known: Known) -> Intent | None:
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
        or SEMVER.fullmatch(words.strip())
    ):
        return Intent("show", refs=explicit_first(refs))
    return None


def _monitoring(words: str, known: Known) -> Intent | None:
    """ "is production drifting?", "any drift in 2.1.5?", "how is 2.1.5 doing live?",
    "how is the model performing in production?", "live metrics of 2.1.5"."""
    if not _has(
        words,
        r"\b(?:drift\w*|skew\w*|decay\w*|monitor\w*)\b|"
        r"\b(?:doing|performing|going|holding up)\b.*\b(?:live|production|prod)\b|"
        r"\blive (?:metrics|performance|accuracy|data)\b",
    ):
        return None
    refs = explicit_first(refs_in(words))
    return Intent("monitoring", refs=refs or ("production",))
