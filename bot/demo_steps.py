"""The demo's story, step by step: who changes what in the project, trains, promotes and rolls
back, and what each step prints. `STEPS` is the order `run_demo` follows.

    1.0.0  baseline                                    (ana)
    1.0.1  params change: learning rate and epochs     (ben)
    1.0.2  data change: relabelled + more train rows   (ana)
    1.0.3  code change: a night-time feature           (ben)
    1.0.4  dependency change: featurekit 1.4 -> 2.0    (chen)  auc drops: clipping by default
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from rich.markup import escape

from modeltrail.bot.demo_project import (
    FEATURES_AFTER,
    FEATURES_BEFORE,
    GITIGNORE,
    params_yaml,
    template,
)
from modeltrail.bot.demo_project.data import generate_data, to_csv
from modeltrail.bot.demo_workspace import MODEL, Demo, DemoError, Persona

ANA = Persona("Ana Lima", "ana@demo")
BEN = Persona("Ben Okafor", "ben@demo")
CHEN = Persona("Chen Wei", "chen@demo")


Step = Callable[[Demo], None]


# -- the steps -----------------------------------------------------------------------------


def create_project(demo: Demo) -> None:
    demo.git("-c", "init.defaultBranch=main", "init", "-q")
    demo.write(".gitignore", GITIGNORE)
    demo.write("README.md", template("README.md.txt"))
    demo.write("params.yaml", params_yaml(learning_rate=0.05, epochs=100))
    demo.write("train.py", template("train.py.txt"))
    _install_featurekit(demo, "1.4.0")
    data = generate_data()
    demo.write("data/train.csv", to_csv(*data.first_train()))
    demo.write("data/test.csv", to_csv(data.test_x, data.test_y))
    demo.commit(
        ANA,
        "Start fraud-detector: data, params, train.py",
        ".gitignore",
        "README.md",
        "params.yaml",
        "train.py",
        "vendor",
        "data",
    )


def train_baseline(demo: Demo) -> None:
    demo.train(ANA, "baseline: logistic regression, learning rate 0.05 for 100 epochs")


def change_params(demo: Demo) -> None:
    demo.write("params.yaml", params_yaml(learning_rate=0.5, epochs=300))
    demo.commit(BEN, "Raise the learning rate to 0.5 and train 300 epochs", "params.yaml")
    demo.train(BEN, "params: learning rate 0.05 → 0.5, epochs 100 → 300 (baseline underfits)")


def change_data(demo: Demo) -> None:
    data = generate_data()
    demo.write("data/train.csv", to_csv(*data.refreshed_train()))
    demo.commit(
        ANA,
        "Refresh train.csv: relabel late chargebacks, add 1,000 rows",
        "data/train.csv",
    )
    demo.train(ANA, "data: late chargebacks relabelled, 1,000 more training rows")


def change_code(demo: Demo) -> None:
    path = demo.directory / "train.py"
    source = path.read_text(encoding="utf-8")
    if FEATURES_BEFORE not in source:
        raise DemoError("the demo's train.py template no longer has the features() it edits")
    path.write_text(source.replace(FEATURES_BEFORE, FEATURES_AFTER), encoding="utf-8")
    demo.commit(BEN, "Add a night-time feature (22:00-06:00): fraud does not sleep", "train.py")
    demo.train(BEN, "code: new night-time feature")


def upgrade_dependency(demo: Demo) -> None:
    shutil.rmtree(demo.directory / "vendor")
    _install_featurekit(demo, "2.0.0")
    demo.commit(CHEN, "Upgrade featurekit 1.4.0 → 2.0.0", "vendor")
    demo.train(CHEN, "environment: featurekit 1.4.0 → 2.0.0")


def show_versions(demo: Demo) -> None:
    from modeltrail.bot.terminal import record_view, versions_table
    from modeltrail.core.registry.writer import Registry

    with Registry.open(demo.database_url) as registry:
        versions = registry.list_versions(MODEL)
        total = registry.count_versions(MODEL)
        newest = registry.load(MODEL, registry.latest_version(MODEL))
    demo.console.print(versions_table(MODEL, versions, total))
    demo.console.print()
    demo.console.print(record_view(newest))


def set_goals(demo: Demo) -> None:
    """Tolerances say how much movement is noise; without them every wobble is a regression."""
    from modeltrail.core.registry.writer import Registry

    goals = (
        ("auc", "maximize", 0.002),
        ("accuracy", "maximize", 0.002),
        ("f1", "maximize", 0.01),
        ("precision", "maximize", 0.05),
        ("recall", "maximize", 0.02),
        ("loss", "minimize", 0.02),
    )
    with Registry.open(demo.database_url) as registry:
        for name, goal, tolerance in goals:
            registry.set_metric_goal(
                MODEL,
                name,
                goal,
                tolerance,
                actor=ANA.actor,
                reason="team agreement on what counts as a real change",
            )
            demo.console.print(f"  {name}: {goal}, tolerance {tolerance:g}")


def report_changes(demo: Demo) -> None:
    from modeltrail.core.registry.compare import changelog, compare
    from modeltrail.core.registry.writer import Registry
    from modeltrail.templates.render import render

    old, new = demo.versions[-2], demo.versions[-1]
    with Registry.open(demo.database_url) as registry:
        diff = compare(registry, MODEL, old, new, repo=str(demo.directory))
        entries = changelog(registry, MODEL)
    demo.console.print(
        escape(render("diff.txt.j2", "text", diff=diff, summary=None)), soft_wrap=True
    )
    (demo.directory / "CHANGELOG.md").write_text(
        render("changelog.md.j2", "md", model=MODEL, entries=entries), encoding="utf-8"
    )
    demo.console.print(f"  wrote the whole history to {demo.directory / 'CHANGELOG.md'}")


def govern(demo: Demo) -> None:
    from modeltrail.core.registry.governance import PromotionBlocked
    from modeltrail.core.registry.writer import Registry

    v = demo.versions
    say = demo.console.print
    with Registry.open(demo.database_url) as registry:
        registry.promote(MODEL, v[2], actor=ANA.actor, reason="refreshed labels catch more fraud")
        say(f"  ana@demo promotes {v[2]} to production")
        registry.promote(MODEL, v[3], actor=BEN.actor, reason="night-time feature: auc 0.81")
        say(f"  ben@demo promotes {v[3]}: {v[2]} is archived, superseded by {v[3]}")
        try:
            registry.promote(MODEL, v[4], actor=CHEN.actor, reason="featurekit 2.0 upgrade")
        except PromotionBlocked as blocked:
            say(f"  chen@demo tries to promote {v[4]}: [bold red]blocked by the gate[/]")
            for finding in blocked.decision.blocking:
                say(f"    {escape(finding.kind)}: {escape(finding.message)}", soft_wrap=True)
        else:
            raise DemoError(f"the gate let {v[4]} through; the demo expected a regression")
        registry.rollback(
            MODEL, actor=BEN.actor, reason="night feature flags legitimate late-shift traffic"
        )
        say(f"  ben@demo rolls back: {v[3]} archived, {v[2]} in production again")
        registry.set_golden(MODEL, v[2], actor=ANA.actor, reason="stable baseline for reports")
        say(f"  ana@demo marks {v[2]} as the golden version")
        plan = registry.apply_retention(MODEL, keep=1, actor=ANA.actor).plan
        for move in plan.moves:
            say(f"  retention archives {move.version}: {escape(move.reason or '')}")
        result = registry.verify_audit()
        state = registry.model_state(MODEL)
    from modeltrail.core.lifecycle.rules import timeline

    for period in timeline(state):
        until = "now" if period.until is None else period.until.strftime("%H:%M:%S")
        say(
            f"  production: {period.version} {period.since:%H:%M:%S} → {until} "
            f"({escape(period.moved_by)}: {escape(period.reason or '')})",
            soft_wrap=True,
        )
    say(
        f"  audit verify: {result.events_checked} events verified"
        if result.ok
        else f"  [red]audit verify failed: {escape(result.problem or '')}[/]"
    )


STEPS: tuple[tuple[str, Step], ...] = (
    ("A new project: git, data, params, train.py", create_project),
    ("Version 1: the baseline", train_baseline),
    ("Metric goals and tolerances", set_goals),
    ("Version 2: a params change", change_params),
    ("Version 3: a data change", change_data),
    ("Version 4: a code change", change_code),
    ("Version 5: a dependency change", upgrade_dependency),
    ("What the registry recorded", show_versions),
    ("What changed in the newest version", report_changes),
    ("Promotion, the gate, rollback, golden, retention, audit", govern),
)


# -- the project's contents ------------------------------------------------------------------


def _install_featurekit(demo: Demo, version: str) -> None:
    """Lay featurekit out as `pip install --target vendor` would: the package and its
    dist-info, so importlib.metadata (and so modeltrail's environment capture) sees it."""
    demo.write("vendor/featurekit/__init__.py", template(f"featurekit-{version}.py.txt"))
    dist_info = f"vendor/featurekit-{version}.dist-info"
    demo.write(
        f"{dist_info}/METADATA",
        "Metadata-Version: 2.1\n"
        "Name: featurekit\n"
        f"Version: {version}\n"
        "Summary: Small feature-engineering helpers for tabular models\n",
    )
    demo.write(f"{dist_info}/INSTALLER", "pip\n")
    demo.write(f"{dist_info}/top_level.txt", "featurekit\n")
