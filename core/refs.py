"""Version references: `fraud-detector@production`, `fraud-detector/2.1.5`, `@golden`, `2.1.5`.

Pure: text in, a `Ref` out. Resolving a reference to a version number needs the model's stages,
which the registry's read side (and the stdlib SQLite reader) supply to `resolve_selector`.

The names a reference may use:
- `production`, `staging`, `golden`: the version in that stage (the newest staged one);
- `latest`: the newest version;
- `previous`: the production before the current one — what a rollback would bring back;
- a version number, `2.1.5` or `v2.1.5`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modeltrail.core.errors import InvalidRefError, InvalidVersionError, NotFoundError, UsageError
from modeltrail.core.versioning import SemVer, is_version

NAMES: tuple[str, ...] = ("production", "staging", "golden", "latest", "previous")
_ALIASES = {"newest": "latest", "prod": "production"}


class EmptyStageError(NotFoundError):
    """A reference names a stage (or golden, previous) that no version of the model is in."""

    def __init__(self, model: str, name: str) -> None:
        what = {
            "previous": "earlier production version",
            "latest": "version",
        }.get(name, f"{name} version")
        super().__init__(
            f"{model} has no {what}",
            hint=f"`modeltrail list {model}` shows its versions and stages",
        )
        self.model = model
        self.name = name


@dataclass(frozen=True)
class Ref:
    """A model and what to pick of it: a stage name from `NAMES` or a version number."""

    model: str
    selector: str

    @property
    def is_version(self) -> bool:
        return self.selector not in NAMES

    def __str__(self) -> str:
        sep = "/" if self.is_version else "@"
        return f"{self.model}{sep}{self.selector}"


def parse_selector(text: str) -> str:
    """`production`, `@production`, ` Production `, `v2.1.5` → `production` / `2.1.5`."""
    word = text.strip()
    word = word[1:] if word.startswith("@") else word
    name = _ALIASES.get(word.lower(), word.lower())
    if name in NAMES:
        return name
    try:
        return str(SemVer.parse(word))
    except InvalidVersionError:
        raise InvalidRefError(text.strip()) from None


def parse_ref(text: str, version: str | None = None, *, default: str = "latest") -> Ref:
    """`MODEL@NAME`, `MODEL/X.Y.Z`, or `MODEL` with `version` given apart (CLI: MODEL [VERSION]).

    A model name may itself contain `/`; only a last segment that is a version number is read
    as one. Naming the version both ways (`m@production 2.1.5`) is a usage error.
    """
    text = text.strip()
    model, selector = text, None
    if "@" in text:
        model, _, after = text.rpartition("@")
        selector = parse_selector(after)
    else:
        head, sep, tail = text.rpartition("/")
        if sep and head and is_version(tail):
            model, selector = head, str(SemVer.parse(tail))
    if not model:
        raise UsageError(f"{text!r} names no model", hint="write MODEL@production or MODEL/2.1.5")
    if selector is not None and version is not None:
        raise UsageError(
            f"{text!r} already names a version; leave out {version!r}",
        )
    if selector is None:
        selector = parse_selector(version if version is not None else default)
    return Ref(model, selector)


def resolve_selector(
    model: str,
    selector: str,
    *,
    newest: Callable[[], str | None],
    in_stage: Callable[[str], Sequence[str]],
    golden: Callable[[], str | None],
    previous: Callable[[], str | None],
) -> str:
    """The version number a selector stands for; each callable reads one thing on demand, so a
    plain version number costs no query at all."""
    if selector not in NAMES:
        return selector
    found: str | None
    if selector == "latest":
        found = newest()
    elif selector == "golden":
        found = golden()
    elif selector == "previous":
        found = previous()
    else:
        staged = in_stage(selector)
        found = max(staged, key=SemVer.parse) if staged else None
    if found is None:
        raise EmptyStageError(model, selector)
    return found
