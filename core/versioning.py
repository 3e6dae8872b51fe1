"""Semantic version numbers: parse, order, bump. Pure values, no I/O.

Model versions are plain `MAJOR.MINOR.PATCH` numbers; a leading `v` is accepted on input and
dropped on output. Pre-release and build suffixes, leading zeros and negative numbers are
rejected so that every version has exactly one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from modeltrail.core.errors import InvalidVersionError, UsageError

BumpLevel = Literal["major", "minor", "patch"]
BUMP_LEVELS: tuple[str, ...] = ("major", "minor", "patch")

_NUMBER = r"(0|[1-9][0-9]*)"
_SEMVER = re.compile(rf"v?{_NUMBER}\.{_NUMBER}\.{_NUMBER}")


@dataclass(frozen=True, order=True)
class SemVer:
    """A version number; instances order numerically (`2.10.0 > 2.9.0`)."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        for part in (self.major, self.minor, self.patch):
            if isinstance(part, bool) or not isinstance(part, int) or part < 0:
                raise InvalidVersionError(f"{self.major}.{self.minor}.{self.patch}")

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Read `2.1.5` or `v2.1.5` (surrounding whitespace ignored)."""
        if not isinstance(text, str):
            raise InvalidVersionError(str(text))
        match = _SEMVER.fullmatch(text.strip())
        if match is None:
            raise InvalidVersionError(text)
        major, minor, patch = (int(group) for group in match.groups())
        return cls(major, minor, patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def bump(self, kind: BumpLevel) -> SemVer:
        """The next version at `kind`: 2.1.5 → 3.0.0 / 2.2.0 / 2.1.6."""
        if kind == "major":
            return SemVer(self.major + 1, 0, 0)
        if kind == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if kind == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        raise UsageError(f"unknown version bump {kind!r}", hint="use major, minor or patch")

    def next_patch(self) -> SemVer:
        return self.bump("patch")


def is_version(text: str) -> bool:
    """True when `text` parses as a version number."""
    try:
        SemVer.parse(text)
    except InvalidVersionError:
        return False
    return True


def sort_versions(versions: Iterable[str], *, reverse: bool = False) -> list[str]:
    """Sort version strings numerically, oldest first (newest first with `reverse=True`).

    The strings come back as given; any that does not parse raises `InvalidVersionError`.
    """
    keyed = [(SemVer.parse(text), text) for text in versions]
    keyed.sort(key=lambda pair: pair[0], reverse=reverse)
    return [text for _, text in keyed]
