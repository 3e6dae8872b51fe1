"""`modeltrail ask`: how well the deterministic parser answers the question set, and how fast a
parsed question is answered by a fresh process on a 50-version registry.

    .venv/bin/python bench/bench_ask.py [--reps 9] [--json out.json]

(a) The evaluation: every question of tests/assistant/questions.yaml over the scenario
    registry (tests/assistant/scenario.py), graded right / partial / not understood / wrong.
(b) `ask` cold: `modeltrail --db … ask -m m QUESTION` as a fresh process (wall time, median of
    `--reps`), on a registry of 50 versions, for a few parsed questions; `show` and a bare
    `python -c pass` in the same loop for scale.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import child_env, machine, median_time, report, write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "assistant"))
MODELTRAIL = str(Path(sys.executable).with_name("modeltrail"))
QUESTIONS = (
    "what is the latest version",
    "what's live?",
    "who promoted 1.0.40",
    "what happened since monday",
)


def evaluate() -> dict:
    from evaluation import counts, load_cases, run
    from scenario import MODEL, NOW, seed_scenario

    from modeltrail.core.registry.writer import Registry

    print("(a) the question set, deterministic path", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-ask-"))
    url = f"sqlite:///{tmp / 'scenario.db'}"
    seed_scenario(url)
    with Registry.open(url) as registry:
        context = {"default_model": MODEL, "clock": lambda: NOW, "timezone": "UTC"}
        results = run(registry, context, load_cases())
    shutil.rmtree(tmp, ignore_errors=True)
    tally = counts(results)
    total = len(results)
    for grade in ("right", "partial", "not_understood", "wrong"):
        print(f"  {grade:<15} {tally[grade]:>4}  ({tally[grade] / total:.1%})")
    print(f"  {'questions':<15} {total:>4}")
    for r in results:
        if r.grade != "right":
            print(f"    {r.grade}: {r.case.question!r} — {r.why}")
    return {
        "total": total,
        **{g: tally[g] for g in ("right", "partial", "not_understood", "wrong")},
    }


def seed50(path: Path) -> None:
    from modeltrail.core.records import VersionDraft
    from modeltrail.core.registry.writer import Registry

    with Registry.open(f"sqlite:///{path}") as registry:
        for i in range(50):
            registry.register(
                VersionDraft(
                    "m",
                    params={"lr": 0.1 + i / 100, "depth": i % 5},
                    metric_points={"auc": [(0, 0.8 + i / 1000, 1.79e9)]},
                ),
                actor=("ana", "ben", "cho")[i % 3],
            )
        registry.promote("m", "1.0.40", actor="ana", reason="bench", force=True)


def cold(reps: int) -> dict:
    print("(b) ask as a fresh process, 50 versions (wall, median)", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-ask-"))
    db = tmp / "r50.db"
    seed50(db)
    url = f"sqlite:///{db}"
    env = {k: v for k, v in child_env().items() if not k.startswith(("MODELTRAIL_", "OPENAI_"))}
    cases = {q: [MODELTRAIL, "--db", url, "ask", "-m", "m", q] for q in QUESTIONS}
    # The same question through the full Registry (SQLAlchemy, alembic's schema check): how
    # every `ask` ran before the stdlib read path; a URL with a query string skips the reader.
    cases["what's live? (full Registry)"] = [
        MODELTRAIL, "--db", url + "?timeout=30", "ask", "-m", "m", "what's live?"
    ]  # fmt: skip
    cases["show m 1.0.40"] = [MODELTRAIL, "--db", url, "show", "m", "1.0.40"]
    cases["python -c pass"] = [sys.executable, "-c", "pass"]
    out = {}
    for name, cmd in cases.items():
        check = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        if check.returncode != 0:
            print(f"  {name}: exit {check.returncode}: {check.stdout[-300:]}{check.stderr[-300:]}")
            continue

        def once(cmd: list[str] = cmd) -> None:
            subprocess.run(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, check=True)

        out[name] = median_time(once, reps)
        report(name, out[name])
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()
    results = {"machine": machine()}
    if not args.skip_eval:
        results["evaluation"] = evaluate()
    results["cold"] = cold(args.reps)
    write_json(args.json_path, results)


if __name__ == "__main__":
    main()
