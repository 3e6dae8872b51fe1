"""`register` and `diff` on a large real repository (issue 18, budgets 2 and 3).

    .venv/bin/python bench/bench_large_repo.py --repo /tmp/bigrepo [--reps 5] [--dirty 20000]

`--repo` is a clone of a large public repository (e.g. git.git: 80,000+ commits). Nothing is
written to it: the dirty-tree case works in a `git worktree` of it under /tmp, removed at the
end, and the registry lives in /tmp too.

(a) `modeltrail register m --metric acc=0.9` as a fresh process, cwd = the repository, clean
    tree: with git capture, with `--no-git`, and with `--no-git --no-env`; median of --reps.
(b) The same with a very dirty tree: every tracked file edited plus untracked files up to
    `--dirty` changed paths; `capture_code` in process and `register` as a process.
(c) `modeltrail diff m 1.0.0 1.0.1` as a fresh process between two versions whose commits are
    ~20,000 commits apart (the count `git rev-list --count` gives is printed), and
    `code_history` in process; in the repository as given, and in a local bare copy with a
    commit-graph (what `git gc` / `git maintenance` write), where walking commits is cheap.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import child_env, load

CLI = [sys.executable, "-m", "modeltrail.bot.cli"]


def timed_process(args: list[str], *, cwd: str, env: dict[str, str], reps: int) -> dict:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def show(label: str, result: dict, reps: int) -> None:
    print(
        f"  {label:<58} median {result['median'] * 1e3:7.0f} ms  (min {result['min'] * 1e3:.0f},"
        f" max {result['max'] * 1e3:.0f}, n={reps}, load {load()})",
        flush=True,
    )


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", repo, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def make_dirty(tree: Path, wanted: int) -> int:
    """Edit every tracked file and add untracked ones until `wanted` paths are changed."""
    tracked = git(str(tree), "ls-files", "-z").split("\0")
    changed = 0
    for rel in tracked:
        path = tree / rel
        if rel and path.is_file() and not path.is_symlink():
            with open(path, "ab") as f:
                f.write(b"\n# bench edit\n")
            changed += 1
    extra = tree / "bench-untracked"
    for i in range(max(0, wanted - changed)):
        sub = extra / f"d{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(f"untracked {i}\n")
        changed += 1
    return changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--dirty", type=int, default=20_000)
    parser.add_argument("--span", type=int, default=20_000)
    parser.add_argument("--only", default="abc")
    args = parser.parse_args()
    repo = str(Path(args.repo).resolve())
    print(
        f"repository {repo}: {git(repo, 'rev-list', '--count', 'HEAD')} commits, "
        f"{len(git(repo, 'ls-files').splitlines())} files",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **child_env(),
            "MODELTRAIL_DATABASE_URL": f"sqlite:///{tmp}/registry.db",
            "MODELTRAIL_CACHE_DIR": f"{tmp}/cache",
        }
        subprocess.run([*CLI, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        register = [*CLI, "register", "m", "--metric", "acc=0.9"]
        if "a" in args.only:
            print("(a) register, clean tree (fresh process)", flush=True)
            subprocess.run(register, cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
            for label, extra in (
                ("register (git + environment)", []),
                ("register --no-git", ["--no-git"]),
                ("register --no-git --no-env", ["--no-git", "--no-env"]),
            ):
                show(
                    label,
                    timed_process(register + extra, cwd=repo, env=env, reps=args.reps),
                    args.reps,
                )
        if "b" in args.only:
            print(f"(b) very dirty tree ({args.dirty:,} changed paths)", flush=True)
            tree = Path(tmp) / "dirty"
            git(repo, "worktree", "add", "-q", "--detach", str(tree), "HEAD")
            try:
                print(f"  {make_dirty(tree, args.dirty):,} paths changed", flush=True)
                from modeltrail.core.capture.git import capture_code

                state = capture_code(tree)  # warm the page cache and the index stat data
                assert state is not None and state.dirty
                times = []
                for _ in range(args.reps):
                    started = time.perf_counter()
                    state = capture_code(tree)
                    times.append(time.perf_counter() - started)
                assert state is not None
                print(f"  capture_code: {len(state.dirty_files):,} dirty files", flush=True)
                show(
                    "capture_code (in process)",
                    {"median": statistics.median(times), "min": min(times), "max": max(times)},
                    args.reps,
                )
                show(
                    "register (git + environment), dirty tree",
                    timed_process(register, cwd=str(tree), env=env, reps=args.reps),
                    args.reps,
                )
            finally:
                git(repo, "worktree", "remove", "--force", str(tree))
        if "c" in args.only:
            print(f"(c) diff across ~{args.span:,} commits", flush=True)
            new = git(repo, "rev-parse", "HEAD")
            old = git(repo, "rev-list", f"--skip={args.span}", "--max-count=1", "HEAD")
            count = git(repo, "rev-list", "--count", f"{old}..{new}")
            files = len(git(repo, "diff", "--name-only", "-M", old, new).splitlines())
            print(f"  {old[:10]}..{new[:10]}: {int(count):,} commits, {files:,} files", flush=True)
            from modeltrail.core.capture.git_history import code_history
            from modeltrail.core.records import CodeState, VersionDraft
            from modeltrail.core.registry.writer import Registry

            # The same range in a local bare copy with a commit-graph, as `git gc` or
            # `git maintenance` leave a repository (the clone given may have none).
            graph = f"{tmp}/graph.git"
            subprocess.run(["git", "clone", "-q", "--bare", "--local", repo, graph], check=True)
            git(graph, "commit-graph", "write", "--reachable")
            url = f"sqlite:///{tmp}/diff.db"
            with Registry.open(url) as registry:
                for model, root in (("m", repo), ("g", graph)):
                    for commit in (old, new):
                        code = CodeState(root, commit, "master", None, False)
                        registry.register(
                            VersionDraft(model, params={"c": commit}, code=code), actor="bench"
                        )
            diff_env = {**env, "MODELTRAIL_DATABASE_URL": url}
            for model, root, label in (("m", repo, "as cloned"), ("g", graph, "commit-graph")):
                times = []
                for _ in range(args.reps):
                    started = time.perf_counter()
                    history = code_history(root, old, new)
                    times.append(time.perf_counter() - started)
                assert history.reachable and history.total_commits == int(count)
                assert history.total_files_changed == files, history.total_files_changed
                show(
                    f"code_history (in process), {label}",
                    {"median": statistics.median(times), "min": min(times), "max": max(times)},
                    args.reps,
                )
                diff = [*CLI, "diff", model, "1.0.0", "1.0.1"]
                show(
                    f"modeltrail diff {model} 1.0.0 1.0.1 (fresh process), {label}",
                    timed_process(diff, cwd=tmp, env=diff_env, reps=args.reps),
                    args.reps,
                )
        shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)


if __name__ == "__main__":
    main()
