"""Fresh-process read commands (issue 18): diff, changelog, history, list, show, ask on a local
SQLite registry of 10 versions trained in a real git repository, and `diff` across a large
span of commits of a real repository.

    python bench/bench_reads.py [--reps 7] [--big-repo PATH --span 20000] [--json OUT]

`--big-repo` is a clone of any large public repository (e.g. git's own history); the script
registers its commit `HEAD~SPAN` and `HEAD` as two versions and times `modeltrail diff` between
them. Figures are medians of whole processes, with the load average (2 cores shared).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import child_env, fmt, load, machine, summary

MODEL = "fraud-detector"


def cli(workdir: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        # the console script's entry point, as `modeltrail …` runs it (any release)
        [sys.executable, "-c", "from modeltrail.bot.cli import entry; entry()", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**child_env(), "MODELTRAIL_ACTOR": "bench"},
    )
    if check and done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def timed(workdir: Path, reps: int, *args: str) -> dict:
    cli(workdir, *args)  # warm the page cache and the bytecode
    times, cpu = [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        cli(workdir, *args)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    # CPU time (user + system, the command and its git processes) moves less with the load
    # than wall time does; it is printed next to the wall median, never instead of it.
    return {**summary(times), "cpu_median_s": statistics.median(cpu)}


def ten_versions(root: Path) -> Path:
    """A git project with ten registered versions (params, metrics, a data file, a commit
    each), two promotions and a golden one."""
    project = root / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.email", "bench@example.com")
    git(project, "config", "user.name", "Bench")
    for i in range(10):
        (project / "train.py").write_text(f"EPOCHS = {10 + i}\n")
        (project / "data.csv").write_text("x,y\n" + "".join(f"{j},{j * i}\n" for j in range(200)))
        (project / "params.yaml").write_text(f"lr: {0.01 * (i + 1)}\nepochs: {10 + i}\n")
        metrics = {"auc": 0.8 + i / 100, "loss": 1 - i / 20}
        (project / "metrics.json").write_text(json.dumps(metrics))
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", f"version {i}")
        cli(
            project,
            "register",
            MODEL,
            "--params",
            "params.yaml",
            "--metrics",
            "metrics.json",
            "--data",
            "train=data.csv",
            "--no-env",
        )
    cli(project, "promote", MODEL, "1.0.5", "--force", "--reason", "bench")
    cli(project, "promote", MODEL, "1.0.8", "--force", "--reason", "bench")
    cli(project, "golden", MODEL, "1.0.5")
    return project


def big_repo_diff(repo: Path, span: int, reps: int, root: Path) -> dict:
    work = root / "big"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo), str(work)], check=True)
    head = git(work, "rev-parse", "HEAD").strip()
    old = git(work, "rev-parse", f"HEAD~{span}").strip()
    total = int(git(work, "rev-list", "--count", f"{old}..{head}").strip())
    env_db = f"sqlite:///{root / 'big.db'}"
    git(work, "checkout", "-q", old)
    cli(work, "--db", env_db, "register", "big", "--no-env", "--version", "1.0.0")
    git(work, "checkout", "-q", head)
    cli(work, "--db", env_db, "register", "big", "--no-env", "--version", "1.0.1")
    result = timed(work, reps, "--db", env_db, "diff", "big", "1.0.0", "1.0.1")
    result["commits"] = total
    result["register_clean"] = timed(work, reps, "--db", env_db, "register", "big2", "--no-env")
    result["register_no_git"] = timed(
        work, reps, "--db", env_db, "register", "big3", "--no-env", "--no-git"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--big-repo", type=Path)
    parser.add_argument("--span", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict = {"machine": machine(), "load_before": load()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = ten_versions(root)
        for name, argv in {
            "list": ("list",),
            "list MODEL": ("list", MODEL),
            "show": ("show", MODEL),
            "diff (newest two)": ("diff", MODEL),
            "diff production latest": ("diff", MODEL, "production", "latest"),
            "changelog (10 versions)": ("changelog", MODEL),
            "history": ("history", MODEL),
            "ask (parsed)": ("ask", "what is in production?"),
            "--help": ("--help",),
        }.items():
            try:
                results[name] = timed(project, args.reps, *argv)
            except SystemExit as failed:  # e.g. a release that does not take the arguments
                results[name] = {"error": str(failed)}
                print(f"{name:28s} fails: {failed}")
                continue
            r = results[name]
            print(
                f"{name:28s} {fmt(r['median_s']):>10s}  cpu {fmt(r['cpu_median_s']):>10s}"
                f"  load {r['load']}"
            )
        if args.big_repo:
            big = big_repo_diff(args.big_repo, args.span, args.reps, root)
            results["big_repo"] = big
            print(f"diff across {big['commits']:,} commits  {fmt(big['median_s']):>10s}")
            print(f"register, large repo, clean    {fmt(big['register_clean']['median_s']):>10s}")
            print(f"register --no-git, large repo  {fmt(big['register_no_git']['median_s']):>10s}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
