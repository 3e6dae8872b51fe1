"""Did the parser read the whole question? Known words, typo repair and what is left (pure).

The parser answers only when every word of a question is accounted for: a word it reads (an
intent's verbs and nouns, a stage, a version, a time), a name from the registry (model,
metric, param, package, person), or a word that carries no registry meaning (articles,
politeness, chat filler). Anything else is a detail it did not understand, and the answer
then says so instead of answering a different question. Typos within one or two letters of a
word it knows ("prodution", "promted", "regstered") are repaired first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words with no registry meaning of their own: grammar, politeness, chat filler.
FILLER = _words(
    """
    sitting standard news updates update served minimizes maximizes minimises
    running upgrade upgraded downgrade downgraded out
    anything everything something nothing most between recap came come anymore far gotten
    anywhere touched lowered raised breaks break not catch responsible traffic atm ever
    serve serves moving right now exactly pull pulled anybody happen lately
    a an the this that these those it its it's is are was were be been being am do does did
    done doing have has had having will would can could should shall may might must i i'm
    i'd me my mine we we're our ours us you you're your yours they them their he she his her
    him of in on at by for from to into onto with about over under and or but nor so than
    then as if also too very just only still yet ever any all some each every both either
    other another same own such up out off now right here there currently presently today's
    hey hi hello yo ok okay thanks thank thx ty pls plz please kindly quick q qq question
    folks team guys everyone anyone someone somebody wondering wonder curious know knows
    tell show give get got let let's lets need want like love check see look find quickly
    real btw fyi asap rn exactly actually really sorry uh um hmm well oh anyway again remind
    reminder modeltrail bot assistant mt gonna wanna can't cant don't dont doesn't isn't
    wasn't say said confirm sure mean meant think believe guess idea clue which's kind sort
    whatever one's like, maybe possibly probably basically literally overall thing things
    stuff info details detail information summary status state
    """
)

# Words the readers use (intents, stages, subjects): known, and the targets of typo repair.
DOMAIN = _words(
    """
    gold
    make mark set push ahead stage unstage revert bring brings restore would
    what which who whom whose when where why how whats what's who's how's when's where's
    model models version versions release releases run runs build builds one ones number
    production prod live serving deployed deploy deploys deploying current champion staging
    staged stage stages candidate challenger golden baseline latest newest recent recently
    previous prior last first next newer older newest oldest earlier later before after
    value values metric metrics score scores param params parameter parameters
    hyperparameter hyperparameters hyperparams hparams setting settings config configuration
    knob knobs data dataset datasets digest digests hash hashes md5 sha sha256 commit
    commits code git tree dirty uncommitted unclean clean local changes working trained
    training train trains package packages library libraries lib libs dependency
    dependencies deps environment env registered register registering registration created
    create made added logged uploaded published built promoted promote promoting promotion
    promotions shipped ship ships released release approved pushed moved move went go goes
    going gone put sent rolled roll rollback rollbacks back revert reverted reverting
    restore archived archive retired retire retirement deprecated removed superseded
    replaced demoted pulled killed dropped decommissioned changed change changing changes
    happened happen happening activity events event log audit trail history timeline past
    releases deployment diff difference differences differ differs different compare
    compared comparison versus vs delta new best top highest lowest max maximum min minimum
    greatest smallest largest biggest worst regress regressed regression regressions worse
    worsen worsened drop drops dropped decline declined degrade degraded degradation fall
    fell down dip dipped tank tanked decrease decreased increase increased jump jumped up
    went drift drifting drifted skew decay decaying monitor monitoring monitored alert
    alerts doing performing perform performance holding healthy health fine behaving roll-
    back roll-out rollout target safe safest fallback fall-back since ago during until today
    yesterday week month year hours days minutes time date day moment help command commands
    use used uses using usage run ran person people user users did does who's whom reason
    why because tell describe detail explain summarize summarise recorded notes note tags
    tag about look list all show count many much how has have had get is are was were in to
    for of on at by with from ver rev revision checkout file files table csv parquet
    snapshot snapshots set training
    """
)
KNOWN = FILLER | DOMAIN
# Typo repair targets: domain words long enough that one wrong letter still says which.
_TARGETS = sorted(w for w in DOMAIN if len(w) >= 5 and w.isalpha())
_TOKEN = re.compile(r"[a-z][a-z0-9'_\-]*|\d[\w.:/-]*|[^\s\w]+")


def tokens(words: str) -> list[str]:
    return _TOKEN.findall(words)


def distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once), cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def repair(words: str, names: Iterable[str] = ()) -> str:
    """`words` with each unknown word of five letters or more replaced by the one known word
    (or registry name) within one edit of it (two for words of nine letters or more)."""
    extra = sorted({n.lower() for n in names if len(n) >= 5 and n.replace("-", "").isalnum()})
    out = []
    for token in words.split():
        if token in KNOWN or len(token) < 5 or not token.isalpha() or token in extra:
            out.append(token)
            continue
        limit = 2 if len(token) >= 10 else 1
        scored = sorted((distance(token, t, limit), t) for t in {*_TARGETS, *extra})
        close = [t for d, t in scored if d <= limit and d == scored[0][0]]
        out.append(close[0] if len(close) == 1 else token)
    return " ".join(out)


def leftover(words: str, accounted: Iterable[str]) -> tuple[str, ...]:
    """The words of `words` that are neither known nor in `accounted` (names and values the
    parser read), in the order written."""
    skip = {a.lower() for a in accounted}
    out: list[str] = []
    for token in tokens(words):
        bare = token.strip("'-_")
        if not bare or not re.search(r"\w", bare):
            continue  # punctuation, emoji
        if bare in KNOWN or bare in skip or bare.removesuffix("'s") in KNOWN:
            continue
        if bare.isdigit() and len(bare) <= 3:
            continue  # "top 3", "last 5": readers that use numbers read them
        out.append(bare)
    return tuple(dict.fromkeys(out))
