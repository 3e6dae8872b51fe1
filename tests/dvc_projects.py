"""The DVC projects in tests/fixtures/dvc (made by a real DVC, see its README), copied into
temporary git repositories the way a user's checkout holds them."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import git

FIXTURES = Path(__file__).parent / "fixtures" / "dvc"


def _copy(source: Path, dest: Path) -> None:
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(source)
        name = ".gitignore" if rel.name == "_gitignore" else rel.name
        target = dest / rel.parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def dvc_project(name: str, dest: Path, *, commit: bool = True) -> Path:
    """Copy fixture project `name` to `dest` as a git repository with one commit (DVC's
    `.gitignore` files keep the DVC-tracked data out of git, as in a real checkout)."""
    _copy(FIXTURES / name, dest)
    if commit:
        git(dest, "init", "-q", "-b", "main")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", f"{name} as DVC made it")
    return dest


def apply_v2(dest: Path, message: str = "pipeline v2: more raw data") -> str:
    """Lay `pipeline-v2` (the second commit of the pipeline project) over a copy of
    `pipeline` and commit it; returns the new commit's SHA."""
    _copy(FIXTURES / "pipeline-v2", dest)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", message)
    return git(dest, "rev-parse", "HEAD")


def unpull(dest: Path, *paths: str) -> None:
    """Remove DVC-tracked workspace data, as in a fresh clone before `dvc pull`."""
    for rel in paths:
        target = dest / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
