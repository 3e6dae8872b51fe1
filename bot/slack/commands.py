"""Reading `/model …` text: which subcommand, which model, which arguments (pure).

The model name may be left out when only one model exists or the channel has a default model
(the model whose reports go to that channel). The word `public` anywhere makes the answer
visible to the channel instead of only to the person who asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modeltrail.core.errors import UsageError

USAGE: dict[str, str] = {
    "diff": "diff [MODEL] [V1] [V2]: what changed (V against its parent; none: newest two)",
    "show": "show [MODEL] [VERSION]: what a version recorded (default: the newest)",
    "history": "history [MODEL]: who was in production from when to when, and why",
    "production": "production [MODEL]: the version in production (and the golden one)",
    "changelog": "changelog [MODEL]: the latest versions, each against its parent",
    "promote": "promote [MODEL] VERSION [reason…]: move a version to production, or ask for "
    "approval when the model's policy says so (owners; no reason: a dialog asks)",
    "rollback": "rollback [MODEL] [reason…]: bring back the previous production (owners)",
    "golden": "golden [MODEL] VERSION [reason…]: mark the stable baseline (owners)",
    "retire": "retire [MODEL] VERSION [reason…]: take a version out of use for good (owners)",
    "requests": "requests [MODEL]: promotion requests waiting for approval",
    "policy": "policy [MODEL] [approvals N]: how many approvals production needs (owners set)",
    "ask": "ask QUESTION: ask about the registry in plain words",
    "help": "help: this list",
}
MUTATING = frozenset({"promote", "rollback", "golden", "retire"})
# Commands whose first argument after the model is a version: an unknown word there is a
# mistyped model name, not a version.
VERSION_FIRST = frozenset({"diff", "show", "promote", "golden", "retire"})
ALIASES = {"prod": "production", "log": "history", "?": "help"}


@dataclass(frozen=True)
class SlashCommand:
    name: str
    model: str | None
    args: tuple[str, ...]
    public: bool = False

    @property
    def mutating(self) -> bool:
        return self.name in MUTATING


def usage_text(command: str, name: str | None = None) -> str:
    if name is not None and name in USAGE:
        return f"Usage: `{command} {USAGE[name]}`"
    lines = [f"`{command} {line}`" for line in USAGE.values()]
    return "\n".join(lines)


def parse_command(
    text: str,
    *,
    known_models: Sequence[str],
    channel_model: str | None = None,
    command: str = "/model",
) -> SlashCommand:
    words = text.split()
    public = any(w.lower() == "public" for w in words)
    words = [w for w in words if w.lower() != "public"]
    if not words:
        return SlashCommand("help", None, (), public)
    name = ALIASES.get(words[0].lower(), words[0].lower())
    rest = words[1:]
    if name not in USAGE:
        raise UsageError(f"I don't know `{words[0]}`.", hint="Try one of:\n" + usage_text(command))
    if name in ("help", "ask"):
        return SlashCommand(name, None, tuple(rest), public)
    if name == "requests":
        if len(rest) > 1 or (rest and rest[0] not in known_models):
            raise UsageError(
                "Which model?" if rest else "Too many arguments.",
                hint=usage_text(command, name),
            )
        return SlashCommand(name, rest[0] if rest else channel_model, (), public)
    model, args = _take_model(
        name, _split_refs(rest, known_models), known_models, channel_model, command
    )
    _check_arity(name, args, command)
    return SlashCommand(name, model, tuple(args), public)


def _take_model(
    name: str,
    words: list[str],
    known_models: Sequence[str],
    channel_model: str | None,
    command: str,
) -> tuple[str, list[str]]:
    if words and words[0] in known_models:
        return words[0], words[1:]
    if name in VERSION_FIRST and words and not _looks_like_version(words[0]):
        raise UsageError(
            f"There is no model named `{words[0]}`.",
            hint=f"Models: {', '.join(f'`{m}`' for m in known_models) or 'none yet'}",
        )
    if channel_model is not None:
        return channel_model, words
    if len(known_models) == 1:
        return known_models[0], words
    if not known_models:
        raise UsageError("The registry has no models yet.")
    if words and not _looks_like_version(words[0]):
        raise UsageError(
            f"There is no model named `{words[0]}`.",
            hint=f"Models: {', '.join(f'`{m}`' for m in known_models)}",
        )
    raise UsageError(
        "Which model? " + ", ".join(f"`{m}`" for m in known_models),
        hint=usage_text(command, name),
    )


def _split_refs(words: list[str], known_models: Sequence[str]) -> list[str]:
    """`fraud-detector@production` → `fraud-detector`, `@production` (and `m/2.1.5` likewise),
    so references read as they do on the command line; the model named once is enough."""
    from modeltrail.core.errors import ModeltrailError
    from modeltrail.core.refs import parse_ref

    out: list[str] = []
    for word in words:
        try:
            ref = parse_ref(word) if not word.startswith("@") else None
        except ModeltrailError:
            ref = None
        if ref is None or ref.model == word or ref.model not in known_models:
            out.append(word)
        elif out and out[0] == ref.model:
            out.append(ref.selector)
        else:
            out += [ref.model, ref.selector]
    return out


def _looks_like_version(word: str) -> bool:
    from modeltrail.core.versioning import is_version

    if word.startswith("@"):
        word = word[1:]
    return is_version(word) or word.lower() in (
        "latest",
        "previous",
        "production",
        "staging",
        "golden",
    )


def _check_arity(name: str, args: list[str], command: str) -> None:
    problem = None
    if name in ("promote", "golden", "retire") and not args:
        problem = "which version?"
    elif name == "policy" and (
        len(args) > 2
        or (args and not args[-1].isdigit())
        or (len(args) == 2 and args[0] != "approvals")
    ):
        problem = "say `approvals N`, e.g. approvals 1."
    elif (name == "diff" and len(args) > 2) or (name == "show" and len(args) > 1):
        problem = "too many arguments."
    elif name in ("history", "production", "changelog") and args:
        problem = "this takes only a model name."
    if problem:
        raise UsageError(problem[0].upper() + problem[1:], hint=usage_text(command, name))
