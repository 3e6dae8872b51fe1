"""The recipe to rebuild a version, as plain values (pure: a record in, a recipe out)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modeltrail.core.records import DataSnapshot, VersionRecord


@dataclass(frozen=True)
class DataCheck:
    snapshot: DataSnapshot
    dvc_hint: str | None  # e.g. "dvc pull data/train.csv" when DVC tracks the path


@dataclass(frozen=True)
class Recipe:
    record: VersionRecord
    clone_command: str | None
    checkout_command: str | None
    dirty_warning: str | None
    requirements: tuple[str, ...]  # pinned `name==version` lines
    data: tuple[DataCheck, ...]
    params_tree: Mapping[str, Any]
    verify_script: str


def unflatten_params(flat: Mapping[str, Any]) -> dict[str, Any]:
    """`{"optimizer.lr": 0.01}` -> `{"optimizer": {"lr": 0.01}}`; a key that is both a value
    and a prefix (`a` and `a.b`) stays flat so nothing is lost."""
    tree: dict[str, Any] = {}
    prefixes = {key.rsplit(".", 1)[0] for key in flat if "." in key}
    for key, value in sorted(flat.items()):
        parts = key.split(".")
        if any(".".join(parts[: i + 1]) in flat for i in range(len(parts) - 1)) or (
            key in prefixes
        ):
            tree[key] = value
            continue
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node = None  # type: ignore[assignment]
                break
            node = child
        if node is None:
            tree[key] = value
        else:
            node[parts[-1]] = value
    return tree


def build_recipe(record: VersionRecord) -> Recipe:
    code = record.code
    clone = checkout = dirty = None
    if code is not None:
        source = code.remote_url or code.repo_root
        folder = shlex.quote(f"{record.model}-{record.version}")
        clone = f"git clone {shlex.quote(source)} {folder}"
        if code.commit and _HEX.match(code.commit):
            checkout = f"git -C {folder} checkout {shlex.quote(code.commit)}"
        if code.dirty:
            files = ", ".join(code.dirty_files[:10]) + (" …" if len(code.dirty_files) > 10 else "")
            dirty = (
                f"{record.version} was trained from uncommitted changes ({files}); the commit "
                f"alone does not contain them (diff digest {code.diff_digest or 'unknown'})"
            )
    requirements: tuple[str, ...] = ()
    if record.environment is not None:
        requirements = tuple(
            f"{name}=={version}" for name, version in sorted(record.environment.packages.items())
        )
    checks = tuple(DataCheck(s, _dvc_hint(s)) for s in record.data)
    return Recipe(
        record=record,
        clone_command=clone,
        checkout_command=checkout,
        dirty_warning=dirty,
        requirements=requirements,
        data=checks,
        params_tree=unflatten_params(record.params),
        verify_script=verify_script(record),
    )


def _dvc_hint(snapshot: DataSnapshot) -> str | None:
    if snapshot.dvc_md5 is None:
        return None
    target = shlex.quote(snapshot.path)
    return f"dvc checkout {target} (or: dvc pull {target})"


_HEX = re.compile(r"^[0-9a-fA-F]{7,128}$")


def _comment(text: str) -> str:
    """`text` safe inside a shell comment: control characters (a newline would end the
    comment and run the rest) shown escaped."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def verify_script(record: VersionRecord) -> str:
    """A POSIX shell script that checks every recorded data digest with sha256sum."""
    lines = [
        "#!/bin/sh",
        f"# Verify the data of {_comment(record.model)} {_comment(record.version)} against the "
        "digests modeltrail",
        "# recorded. Run from the directory training ran in. Exit status 1 on any mismatch.",
        "status=0",
        "check() {",
        '  if [ ! -e "$2" ]; then echo "MISSING  $2"; status=1; return; fi',
        '  actual=$(sha256sum "$2" | cut -d" " -f1)',
        '  if [ "$actual" = "$1" ]; then echo "OK       $2"; else echo "CHANGED  $2"; status=1; fi',
        "}",
    ]
    for snapshot in record.data:
        role, where = _comment(snapshot.role), _comment(snapshot.path)
        if snapshot.kind == "file" and snapshot.digest and _HEX.match(snapshot.digest):
            lines.append(f"check {snapshot.digest} {shlex.quote(snapshot.path)}")
        elif snapshot.kind == "directory" and snapshot.manifest:
            lines.append(f"# {role}: directory {where}, {len(snapshot.manifest)} files")
            for entry in snapshot.manifest:
                path = f"{snapshot.path.rstrip('/')}/{entry.path}"
                if _HEX.match(entry.digest or ""):
                    lines.append(f"check {entry.digest} {shlex.quote(path)}")
                else:
                    lines.append(f"# {_comment(path)}: its digest is not hexadecimal")
        else:
            lines.append(f"# {role}: {where} was recorded without a (valid) digest")
    lines += ['[ "$status" -eq 0 ] && echo "all data matches"', 'exit "$status"', ""]
    return "\n".join(lines)
