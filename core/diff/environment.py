"""The environment and artifact sections of a diff. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from modeltrail.core.diff.types import (
    ArtifactChange,
    EnvironmentChange,
    FieldChange,
    PackageChange,
    Status,
)
from modeltrail.core.records import DVC_MD5_PREFIX, Artifact, Environment

# ----------------------------------------------------------------------------- environment

_NATURAL = re.compile(r"([0-9]+)")


def _natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple(
        (0, int(part)) if part.isascii() and part.isdigit() else (1, part)
        for part in _NATURAL.split(text)
        if part
    )


def compare_package_versions(old: str, new: str) -> tuple[int, bool]:
    """(-1 | 0 | 1, major): how `new` compares with `old` and whether the major number moved.
    PEP 440 when both parse, else a natural string comparison on the raw text (numbers
    compare as numbers)."""
    # Imported on the first package that changed version: a diff without environments (or
    # with the same packages) never needs it.
    from packaging.version import InvalidVersion, Version

    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        ka, kb = _natural_key(old), _natural_key(new)
        order = (ka < kb) - (ka > kb)
        if order == 0 and old != new:
            order = (old < new) - (old > new)
        # a major move only when both start with a number and that number differs
        major = order != 0 and bool(ka and kb) and ka[0][0] == kb[0][0] == 0 and ka[0] != kb[0]
        return order, major
    order = (a < b) - (a > b)
    return order, order != 0 and a.release[0] != b.release[0]


_SYSTEM_FIELDS = ("python_implementation", "platform", "machine", "cpu_model", "cpu_count", "gpus")


def diff_environment(old: Environment | None, new: Environment | None) -> EnvironmentChange:
    python_old = old.python_version if old else None
    python_new = new.python_version if new else None
    if old is None or new is None:
        status: Status = "unchanged" if old is new else ("added" if old is None else "removed")
        return EnvironmentChange(status=status, python_old=python_old, python_new=python_new)
    added, removed, upgraded, downgraded = [], [], [], []
    old_packages, new_packages = old.packages, new.packages
    for name, old_version in old_packages.items():
        new_version = new_packages.get(name)
        if new_version is None:
            removed.append(PackageChange(name, old_version, None))
        elif new_version != old_version:
            order, major = compare_package_versions(old_version, new_version)
            if order > 0:
                upgraded.append(PackageChange(name, old_version, new_version, major))
            elif order < 0:
                downgraded.append(PackageChange(name, old_version, new_version, major))
    for name, new_version in new_packages.items():
        if name not in old_packages:
            added.append(PackageChange(name, None, new_version))
    system = tuple(
        FieldChange(name, getattr(old, name), getattr(new, name))
        for name in _SYSTEM_FIELDS
        if getattr(old, name) != getattr(new, name)
    )
    changed = python_old != python_new or added or removed or upgraded or downgraded or system
    return EnvironmentChange(
        status="changed" if changed else "unchanged",
        python_old=python_old,
        python_new=python_new,
        packages_compared=True,
        packages_added=tuple(sorted(added, key=_by_name)),
        packages_removed=tuple(sorted(removed, key=_by_name)),
        packages_upgraded=tuple(sorted(upgraded, key=_by_name)),
        packages_downgraded=tuple(sorted(downgraded, key=_by_name)),
        system_changes=system,
    )


def _by_name(change: PackageChange) -> str:
    return change.name


# ------------------------------------------------------------------------------- artifacts


def _digest_kind(digest: str) -> str:
    return DVC_MD5_PREFIX if digest.startswith(DVC_MD5_PREFIX) else "sha256"


def _artifact_change(name: str, old: Artifact | None, new: Artifact | None) -> ArtifactChange:
    status: Status
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    elif old.digest and new.digest and _digest_kind(old.digest) == _digest_kind(new.digest):
        status = "unchanged" if old.digest == new.digest else "changed"
    elif old.digest and new.digest:
        # DVC's md5 on one side (not pulled), our sha256 on the other: digests of different
        # kinds say nothing about each other; the same place and size is the same artifact.
        status = "unchanged" if (old.uri, old.size) == (new.uri, new.size) else "changed"
    else:
        same = (old.uri, old.size, old.digest) == (new.uri, new.size, new.digest)
        status = "unchanged" if same else "changed"
    return ArtifactChange(
        name=name,
        status=status,
        old_uri=old.uri if old else None,
        new_uri=new.uri if new else None,
        old_digest=old.digest if old else None,
        new_digest=new.digest if new else None,
        old_size=old.size if old else None,
        new_size=new.size if new else None,
    )


def diff_artifacts(old: Sequence[Artifact], new: Sequence[Artifact]) -> tuple[ArtifactChange, ...]:
    old_by_name = {a.name: a for a in old}
    new_by_name = {a.name: a for a in new}
    return tuple(
        _artifact_change(name, old_by_name.get(name), new_by_name.get(name))
        for name in sorted(old_by_name.keys() | new_by_name.keys())
    )
